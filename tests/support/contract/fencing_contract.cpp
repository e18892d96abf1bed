// The fencing part of the Repository contract: one writer per run.
#include <cctype>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int fencing_contract_anchor() {
  return 0;
}

// ---- fencing: one writer per run ----

TEST_P(RepositoryContract, ATakeoverByTheSameOwnerFencesTheEarlierAttempt) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  // The same owner claims again (two workers of one process): a new attempt, a new token.
  const ExportRun second = repo_->claim(claim_request(group, slot1_, "a"));
  ASSERT_TRUE(second.resumed);
  EXPECT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(second.attempts, first.attempts + 1);

  CommitRequest stale;
  stale.run_id = first.run_id;
  stale.owner = OwnerId("a");
  stale.attempt = first.attempts;
  stale.messages = {message(first.run_id, "stale")};
  EXPECT_EQ(error_code_of([&] { repo_->commit(stale); }), ErrorCode::kLeaseLost);
  EXPECT_EQ(error_code_of([&] {
              repo_->heartbeat(first.run_id, OwnerId("a"), first.attempts, seconds{300});
            }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(error_code_of(
                [&] { repo_->record_failure(first.run_id, OwnerId("a"), first.attempts, "late"); }),
            ErrorCode::kLeaseLost);
  try {
    repo_->commit(stale);
    ADD_FAILURE() << "a commit with a stale token went through";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("claimed again"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);

  repo_->heartbeat(second.run_id, OwnerId("a"), second.attempts, seconds{300});
  CommitRequest current = stale;
  current.attempt = second.attempts;
  current.messages = {message(second.run_id, "current")};
  repo_->commit(current);
  EXPECT_TRUE(is_sent(u1));
  EXPECT_EQ(*db_->query_one("SELECT payload FROM export_outbox"), "current");
}

TEST_P(RepositoryContract, CompleteEmptyNeedsTheLatestToken) {
  const std::string group = add_group(domain_);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  ASSERT_EQ(first.item_count, 0);
  db_->exec("UPDATE export_runs SET attempts = attempts + 1 WHERE run_id = " +
            quote(first.run_id.str()));  // as a takeover would
  EXPECT_EQ(
      error_code_of([&] { repo_->complete_empty(first.run_id, OwnerId("a"), first.attempts); }),
      ErrorCode::kLeaseLost);
  repo_->complete_empty(first.run_id, OwnerId("a"), first.attempts + 1);
  EXPECT_EQ(repo_->find_run(first.run_id)->state, RunState::kEmpty);
}

TEST_P(RepositoryContract, AGroupIdStoredInUpperCaseIsTheSameGroup) {
  const std::string group = uuid(2, next_id_++);
  std::string upper = group;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  db_->exec(
      "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
      "VALUES (" +
      quote(upper) + ", " + quote(domain_) + ", 'upper', 'COST_BASED', true, " +
      "'2025-01-01 00:00:00')");
  const auto u1 = add_user(upper);
  const auto u2 = add_user(group);  // the same group written in lower case by another program

  const auto groups = repo_->active_groups(DomainId::parse(domain_));
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].id.str(), group);
  ASSERT_TRUE(repo_->find_group(GroupId::parse(group)));

  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.item_count, 2);
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_EQ(sent_among({u1, u2}), 2);
}

TEST_P(RepositoryContract, AOneShotClaimInAFinishedSlotTakesTheLatestEarlierFreeSecond) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(first.run_id, "a", {});
  const auto u2 = add_user(group);

  // The service's rule: one run per group and scheduled slot.
  const ExportRun scheduled = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(scheduled.run_id, first.run_id);
  EXPECT_NE(scheduled.state, RunState::kClaimed);

  ClaimRequest once = claim_request(group, slot1_, "a");
  once.once_per_slot = false;
  const ExportRun again = repo_->claim(once);
  EXPECT_NE(again.run_id, first.run_id);
  EXPECT_EQ(again.state, RunState::kClaimed);
  EXPECT_EQ(again.item_count, 1);
  EXPECT_EQ(again.slot, slot1_ - seconds{1});
  EXPECT_EQ(streamed_ids(again.run_id), std::vector<std::int64_t>{u2});
  commit_run(again.run_id, "a", {});

  add_user(group);
  ClaimRequest third = claim_request(group, slot1_, "a");
  third.once_per_slot = false;
  EXPECT_EQ(repo_->claim(third).slot, slot1_ - seconds{2});
}

}  // namespace user_export::testing
