// The outbox part of the Repository contract: delivery outcomes and when a run completes.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int outbox_contract_anchor() {
  return 0;
}

// ---- outbox ----

TEST_P(RepositoryContract, FailedDeliveryIsNotDueBeforeItsNextAttempt) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m1"), message(run.run_id, "m2")});
  const auto first = repo_->pending_messages(10).at(0);

  repo_->record_publish_failure(first.outbox_id, "broker timeout", clock_.now() + seconds{60});
  auto due = repo_->pending_messages(10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].payload, "m2");
  EXPECT_EQ(repo_->pending_count(), 2);
  EXPECT_EQ(*db_->query_one("SELECT last_error FROM export_outbox WHERE id = " +
                            std::to_string(first.outbox_id)),
            "broker timeout");

  clock_.advance(seconds{59});
  EXPECT_EQ(repo_->pending_messages(10).size(), 1u);
  clock_.advance(seconds{1});
  due = repo_->pending_messages(10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].outbox_id, first.outbox_id);
  EXPECT_EQ(due[0].attempts, 1);
  EXPECT_EQ(due[1].attempts, 0);
}

TEST_P(RepositoryContract, RunCompletesWhenItsLastPendingMessageIsPublishedOrDeadLettered) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a",
             {message(run.run_id, "m1"), message(run.run_id, "m2"), message(run.run_id, "m3")});
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);

  repo_->mark_published(pending[0].outbox_id);
  repo_->mark_dead_lettered(pending[1].outbox_id, "message too large");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 1);
  const auto id1 = std::to_string(pending[1].outbox_id);
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " + id1), "dead_lettered");
  EXPECT_EQ(*db_->query_one("SELECT last_error FROM export_outbox WHERE id = " + id1),
            "message too large");
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " +
                            std::to_string(pending[0].outbox_id)),
            "published");

  repo_->mark_published(pending[2].outbox_id);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_TRUE(repo_->pending_messages(10).empty());

  // A relay repeating itself after a crash changes nothing.
  repo_->mark_published(pending[0].outbox_id);
  repo_->mark_dead_lettered(pending[0].outbox_id, "late");
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " +
                            std::to_string(pending[0].outbox_id)),
            "published");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
}

TEST_P(RepositoryContract, MarkAllPublishedCompletesEveryRunWhoseLastMessageIsAmongThem) {
  const ExportRun ra = committed_run({"a1", "a2"});
  const ExportRun rb = committed_run({"b1", "b2"});
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 4u);
  repo_->mark_published(pending[0].outbox_id);

  // a1 again (no longer pending), a2 (a's last), b1 (b keeps b2 pending).
  const std::vector<std::int64_t> ids = {pending[0].outbox_id, pending[1].outbox_id,
                                         pending[2].outbox_id};
  repo_->mark_all_published(ids);
  EXPECT_EQ(repo_->find_run(ra.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(*db_->query_one("SELECT count(*) FROM export_outbox WHERE state = 'published'"), "3");

  // An unknown id among them marks none.
  const std::vector<std::int64_t> with_unknown = {pending[3].outbox_id, 987654};
  EXPECT_THROW(repo_->mark_all_published(with_unknown), Error);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCommitted);
  repo_->mark_all_published({});
  repo_->mark_all_published(std::vector<std::int64_t>{pending[3].outbox_id});
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
}

TEST_P(RepositoryContract, ClaimedUsersRemainingLeavesOutUsersDeletedSinceTheClaim) {
  const std::string group = add_group(domain_);
  const std::int64_t kept = add_user(group);
  const std::int64_t deleted = add_user(group);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  ASSERT_EQ(run.item_count, 3);
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 3);
  db_->exec("DELETE FROM profiles WHERE user_id = " + std::to_string(deleted));
  db_->exec("DELETE FROM users WHERE id = " + std::to_string(deleted));
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 2);
  // A user that moved to another group stays claimed by this run.
  const std::string other = add_group(domain_);
  db_->exec("UPDATE users SET group_id = " + quote(other) + " WHERE id = " + std::to_string(kept));
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 2);
  EXPECT_EQ(repo_->claimed_users_remaining(RunId(uuid(4, 999))), 0);
}

TEST_P(RepositoryContract, UnknownOutboxIdIsAnError) {
  EXPECT_THROW(repo_->mark_published(987654), Error);
  EXPECT_THROW(repo_->mark_dead_lettered(987654, "x"), Error);
  EXPECT_THROW(repo_->record_publish_failure(987654, "x", clock_.now()), Error);
}

TEST_P(RepositoryContract, PendingCountCoversEveryRun) {
  const ExportRun ra = committed_run({"a1", "a2"});
  const ExportRun rb = committed_run({"b1"});
  EXPECT_EQ(repo_->pending_count(), 3);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].payload, "a1");
  EXPECT_EQ(pending[2].payload, "b1");
  repo_->mark_published(pending[2].outbox_id);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->find_run(ra.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 2);
}

}  // namespace user_export::testing
