// The claim part of the Repository contract: which users a claim records, and how a claim of a
// finished or failed run resumes it.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int claim_contract_anchor() {
  return 0;
}

// ---- claim ----

TEST_P(RepositoryContract, ClaimRecordsExactlyTheUnsentUsersOfTheGroup) {
  const std::string group = add_group(domain_);
  const std::string other = add_group(domain_);
  const auto u1 = add_user(group);
  add_user(group, /*sent=*/true);
  const auto u3 = add_user(group);
  add_user(other);

  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.state, RunState::kClaimed);
  EXPECT_EQ(run.item_count, 2);
  EXPECT_EQ(run.attempts, 1);
  EXPECT_FALSE(run.resumed);
  EXPECT_EQ(run.lease_owner.str(), "a");
  EXPECT_EQ(run.lease_expires_at, clock_.now() + seconds{300});
  EXPECT_EQ(run.slot, slot1_);
  EXPECT_EQ(streamed_ids(run.run_id), (std::vector<std::int64_t>{u1, u3}));
  EXPECT_EQ(
      count("SELECT count(*) FROM export_run_items WHERE run_id = " + quote(run.run_id.str())), 2);
  auto stored = repo_->find_run(run.run_id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->item_count, 2);
  EXPECT_EQ(stored->group_id.str(), group);
  EXPECT_EQ(stored->domain_id.str(), domain_);
  EXPECT_EQ(stored->slot, slot1_);
  EXPECT_EQ(stored->lease_owner.str(), "a");
}

TEST_P(RepositoryContract, UserInsertedAfterClaimIsNeitherStreamedNorMarkedButClaimedNext) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  const auto late = add_user(group);

  EXPECT_EQ(streamed_ids(run.run_id), (std::vector<std::int64_t>{u1, u2}));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_TRUE(is_sent(u1));
  EXPECT_TRUE(is_sent(u2));
  EXPECT_FALSE(is_sent(late));

  const ExportRun next = repo_->claim(claim_request(group, slot2_, "a"));
  EXPECT_NE(next.run_id, run.run_id);
  EXPECT_EQ(next.item_count, 1);
  EXPECT_EQ(streamed_ids(next.run_id), (std::vector<std::int64_t>{late}));
}

TEST_P(RepositoryContract, UserClaimedByAnUnfinishedRunIsNotClaimedByAnotherGroupsRun) {
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  const auto moved = add_user(a);
  const auto stays = add_user(a);
  const auto in_b = add_user(b);
  const ExportRun run_a = repo_->claim(claim_request(a, slot1_, "x"));
  db_->exec("UPDATE users SET group_id = " + quote(b) + " WHERE id = " + std::to_string(moved));

  const ExportRun run_b = repo_->claim(claim_request(b, slot1_, "x"));
  EXPECT_EQ(streamed_ids(run_b.run_id), (std::vector<std::int64_t>{in_b}));
  EXPECT_EQ(streamed_ids(run_a.run_id), (std::vector<std::int64_t>{moved, stays}));
}

TEST_P(RepositoryContract, ClaimOfAFinishedSlotReturnsTheFinishedRunUnchanged) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});

  const ExportRun again = repo_->claim(claim_request(group, slot1_, "b"));
  EXPECT_EQ(again.run_id, run.run_id);
  EXPECT_EQ(again.state, RunState::kCommitted);
  EXPECT_FALSE(again.resumed);
  EXPECT_EQ(again.attempts, 1);
  EXPECT_EQ(again.item_count, 1);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
}

TEST_P(RepositoryContract, ResumeAfterFailedAttemptKeepsRunIdSlotAndItems) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->record_failure(first.run_id, OwnerId("a"), first.attempts, "upload failed: 503");
  auto failed = repo_->find_run(first.run_id);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->last_error, "upload failed: 503");
  EXPECT_EQ(failed->lease_owner.str(), "");
  add_user(group);  // arrives between the attempts

  clock_.advance(seconds{10});
  const ExportRun resumed = repo_->claim(claim_request(group, slot2_, "b"));
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.run_id, first.run_id);
  EXPECT_EQ(resumed.slot, slot1_);
  EXPECT_EQ(resumed.attempts, 2);
  EXPECT_EQ(resumed.item_count, 2);
  EXPECT_EQ(resumed.state, RunState::kClaimed);
  EXPECT_EQ(resumed.lease_owner.str(), "b");
  EXPECT_EQ(resumed.lease_expires_at, clock_.now() + seconds{300});
  EXPECT_EQ(streamed_ids(resumed.run_id), (std::vector<std::int64_t>{u1, u2}));
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
  EXPECT_EQ(repo_->find_run(first.run_id)->attempts, 2);
}

TEST_P(RepositoryContract, OwnerReclaimingItsLiveRunResumesIt) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  const ExportRun again = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.run_id, first.run_id);
  EXPECT_EQ(again.attempts, 2);
}

}  // namespace user_export::testing
