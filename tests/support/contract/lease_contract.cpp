// The lease part of the Repository contract: a live lease keeps other owners out, a lease of a
// dead owner or an expired one is taken over, and the old owner is fenced.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int lease_contract_anchor() {
  return 0;
}

TEST_P(RepositoryContract, ClaimWhileAnotherOwnerHoldsALiveLeaseIsLeaseLost) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{299});
  EXPECT_EQ(error_code_of([&] { repo_->claim(claim_request(group, slot2_, "b")); }),
            ErrorCode::kLeaseLost);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->lease_owner.str(), "a");
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
}

TEST_P(RepositoryContract, LiveLeaseOfADeadOwnerIsTakenOverAndTheDeadOwnerIsFenced) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "crashed"));
  ClaimRequest request = claim_request(group, slot2_, "restarted");
  std::vector<std::string> asked;
  request.owner_is_dead = [&](const OwnerId& owner) {
    asked.push_back(owner.str());
    return owner == OwnerId("crashed");
  };
  const ExportRun taken = repo_->claim(request);  // lease still live: no time has passed
  EXPECT_EQ(asked, std::vector<std::string>{"crashed"});
  EXPECT_TRUE(taken.resumed);
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.lease_owner.str(), "restarted");
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "crashed", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  // An owner the predicate says is alive keeps its lease.
  ClaimRequest other = claim_request(group, slot2_, "third");
  other.owner_is_dead = [](const OwnerId&) { return false; };
  EXPECT_EQ(error_code_of([&] { repo_->claim(other); }), ErrorCode::kLeaseLost);
}

TEST_P(RepositoryContract, ExpiredLeaseIsTakenOverAndTheOldOwnerIsFenced) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{301});

  const ExportRun taken = repo_->claim(claim_request(group, slot2_, "b"));
  EXPECT_TRUE(taken.resumed);
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.lease_owner.str(), "b");
  EXPECT_EQ(taken.attempts, 2);

  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "a", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(error_code_of(
                [&] { repo_->heartbeat(run.run_id, OwnerId("a"), run.attempts, seconds{300}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(
      error_code_of([&] { repo_->record_failure(run.run_id, OwnerId("a"), run.attempts, "late"); }),
      ErrorCode::kLeaseLost);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_EQ(repo_->find_run(run.run_id)->lease_owner.str(), "b");
  EXPECT_EQ(repo_->find_run(run.run_id)->last_error, "");

  commit_run(run.run_id, "b", {message(run.run_id, "m")});
  EXPECT_TRUE(is_sent(u1));
}

TEST_P(RepositoryContract, CommitWithExpiredLeaseIsLeaseLostAndChangesNothing) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{300});  // expiry is exclusive: at now == expires the lease is gone

  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = OwnerId("a");
  request.attempt = run.attempts;
  ExportedFile file;
  file.object_key = "k.csv.gz";
  file.rows = 2;
  request.file = file;
  request.messages = {message(run.run_id, "m1"), message(run.run_id, "m2")};
  EXPECT_EQ(error_code_of([&] { repo_->commit(request); }), ErrorCode::kLeaseLost);
  EXPECT_EQ(sent_among({u1, u2}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->state, RunState::kClaimed);
  EXPECT_EQ(stored->object_key, "");
  EXPECT_EQ(error_code_of(
                [&] { repo_->heartbeat(run.run_id, OwnerId("a"), run.attempts, seconds{300}); }),
            ErrorCode::kLeaseLost);
}

TEST_P(RepositoryContract, CommitByAnotherOwnerIsLeaseLost) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "intruder", {}); }), ErrorCode::kLeaseLost);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
}

TEST_P(RepositoryContract, CommitTwiceIsLeaseLostTheSecondTime) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "a", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 1);
}

TEST_P(RepositoryContract, HeartbeatExtendsTheLease) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{200});
  repo_->heartbeat(run.run_id, OwnerId("a"), run.attempts, seconds{300});
  EXPECT_EQ(repo_->find_run(run.run_id)->lease_expires_at, clock_.now() + seconds{300});
  clock_.advance(seconds{200});  // 400 s after the claim: alive only thanks to the heartbeat
  EXPECT_EQ(error_code_of([&] { repo_->claim(claim_request(group, slot2_, "b")); }),
            ErrorCode::kLeaseLost);
  commit_run(run.run_id, "a", {});
  EXPECT_TRUE(is_sent(u1));
}

}  // namespace user_export::testing
