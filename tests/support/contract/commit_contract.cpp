// The commit part of the Repository contract: what a commit marks and queues, and how a run ends
// in failure or empty.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

int commit_contract_anchor() {
  return 0;
}

TEST_P(RepositoryContract, CommitMarksExactlyTheClaimedUsersAndQueuesMessagesInOrder) {
  const std::string group = add_group(domain_);
  const std::string other = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const auto elsewhere = add_user(other);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  const auto late = add_user(group);

  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = OwnerId("a");
  request.attempt = run.attempts;
  ExportedFile file;
  file.object_key = "exports/d/g/2026-01-01T0000Z/" + run.run_id.str() + ".csv.gz";
  file.rows = 2;
  file.bytes = 1234;
  file.sha256 = std::string(64, 'a');
  request.file = file;
  request.messages = {message(run.run_id, "{\"part\":1}"), message(run.run_id, "{\"part\":2}"),
                      message(run.run_id, "{\"part\":3,\"city\":\"東京\"}")};
  repo_->commit(request);

  EXPECT_TRUE(is_sent(u1));
  EXPECT_TRUE(is_sent(u2));
  EXPECT_FALSE(is_sent(elsewhere));
  EXPECT_FALSE(is_sent(late));

  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->state, RunState::kCommitted);
  EXPECT_EQ(stored->object_key, file.object_key);
  EXPECT_EQ(stored->rows, 2);
  EXPECT_EQ(stored->bytes, 1234);
  EXPECT_EQ(stored->sha256, file.sha256);

  EXPECT_EQ(repo_->pending_count(), 3);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    EXPECT_GT(pending[i].outbox_id, 0);
    if (i > 0) {
      EXPECT_GT(pending[i].outbox_id, pending[i - 1].outbox_id);
    }
    EXPECT_EQ(pending[i].run_id, run.run_id);
    EXPECT_EQ(pending[i].topic, "flairbit-users");
    EXPECT_EQ(pending[i].payload, request.messages[i].payload);
    EXPECT_EQ(pending[i].key, request.messages[i].key);
    EXPECT_EQ(pending[i].headers, request.messages[i].headers);
    EXPECT_EQ(pending[i].attempts, 0);
  }
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE run_id = " + quote(run.run_id.str()) +
                  " AND state = 'pending'"),
            3);
  EXPECT_EQ(repo_->pending_messages(2).size(), 2u);
}

TEST_P(RepositoryContract, CommitWithoutMarkSentMarksNobodyAndTheUsersAreClaimedAgain) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")}, /*mark_sent=*/false);
  EXPECT_EQ(sent_among({u1, u2}), 0);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);

  const ExportRun next = repo_->claim(claim_request(group, slot2_, "a"));
  EXPECT_EQ(streamed_ids(next.run_id), (std::vector<std::int64_t>{u1, u2}));
}

TEST_P(RepositoryContract, CommitWithoutMessagesCompletesTheRun) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {});
  EXPECT_TRUE(is_sent(u1));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
}

// ---- failure, empty runs ----

TEST_P(RepositoryContract, RecordFailureByAnotherOwnerIsLeaseLostAndKeepsTheLease) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(
      error_code_of([&] { repo_->record_failure(run.run_id, OwnerId("b"), run.attempts, "boom"); }),
      ErrorCode::kLeaseLost);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->lease_owner.str(), "a");
  EXPECT_EQ(stored->last_error, "");
}

TEST_P(RepositoryContract, CompleteEmptyMarksARunWithoutUsersEmpty) {
  const std::string group = add_group(domain_);
  add_user(group, /*sent=*/true);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.item_count, 0);
  EXPECT_EQ(error_code_of([&] { repo_->complete_empty(run.run_id, OwnerId("b"), run.attempts); }),
            ErrorCode::kLeaseLost);
  repo_->complete_empty(run.run_id, OwnerId("a"), run.attempts);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kEmpty);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);

  const ExportRun again = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(again.run_id, run.run_id);
  EXPECT_EQ(again.state, RunState::kEmpty);
}

TEST_P(RepositoryContract, CompleteEmptyRefusesARunWithUsers) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_THROW(repo_->complete_empty(run.run_id, OwnerId("a"), run.attempts), Error);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
  EXPECT_FALSE(is_sent(u1));
}

}  // namespace user_export::testing
