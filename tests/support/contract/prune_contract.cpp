// The retention part of the Repository contract: prune() deletes finished history older than
// its cutoff, in bounded batches, and nothing else.
#include "support/contract/prune_contract.hpp"

#include <atomic>

#include "common/error.hpp"

namespace user_export::testing {

using std::chrono::hours;

namespace {

constexpr auto kDay = hours{24};

}  // namespace

int prune_contract_anchor() {
  return 0;
}

ExportRun PruneContract::claimed_run(int users) {
  const std::string group = add_group(domain_);
  for (int i = 0; i < users; ++i) add_user(group);
  return repo_->claim(claim_request(group, slot1_, "x"));
}

ExportRun PruneContract::completed_run(int users, const std::vector<std::string>& payloads) {
  const ExportRun run = claimed_run(users);
  std::vector<OutboundMessage> messages;
  for (const std::string& payload : payloads) messages.push_back(message(run.run_id, payload));
  commit_run(run.run_id, "x", std::move(messages));
  publish_pending_of(run.run_id);
  return run;
}

void PruneContract::publish_pending_of(const RunId& run_id) {
  for (const OutboundMessage& m : repo_->pending_messages(100)) {
    if (m.run_id == run_id) repo_->mark_published(m.outbox_id);
  }
}

std::int64_t PruneContract::runs_with_id(const RunId& run_id) {
  return count("SELECT count(*) FROM export_runs WHERE run_id = " + quote(run_id.str()));
}

std::int64_t PruneContract::items_of(const RunId& run_id) {
  return count("SELECT count(*) FROM export_run_items WHERE run_id = " + quote(run_id.str()));
}

std::int64_t PruneContract::messages_of(const RunId& run_id, const std::string& state) {
  return count("SELECT count(*) FROM export_outbox WHERE run_id = " + quote(run_id.str()) +
               " AND state = " + quote(state));
}

PruneCounts PruneContract::prune_before(SystemTime cutoff, std::int64_t batch_rows) {
  PruneRequest request;
  request.older_than = cutoff;
  request.batch_rows = batch_rows;
  return repo_->prune(request);
}

TEST_P(PruneContract, DeletesOnlyFinishedHistoryOlderThanTheCutoff) {
  const SystemTime start = clock_.now();
  // Old and finished: a delivered run of three users (more than one batch), one of whose
  // messages was dead-lettered, and an empty run.
  const ExportRun delivered = claimed_run(3);
  commit_run(delivered.run_id, "x",
             {message(delivered.run_id, "d1"), message(delivered.run_id, "d2")});
  const auto delivered_messages = repo_->pending_messages(10);
  ASSERT_EQ(delivered_messages.size(), 2u);
  repo_->mark_dead_lettered(delivered_messages[0].outbox_id, "too large");
  repo_->mark_published(delivered_messages[1].outbox_id);
  const std::string empty_group = add_group(domain_);
  add_user(empty_group, /*sent=*/true);
  const ExportRun empty = repo_->claim(claim_request(empty_group, slot1_, "x"));
  repo_->complete_empty(empty.run_id, OwnerId("x"), empty.attempts);
  // Old and unfinished: a committed run with one message delivered and one pending, and a
  // claimed run whose attempt failed.
  const ExportRun committed = claimed_run(1);
  commit_run(committed.run_id, "x",
             {message(committed.run_id, "c1"), message(committed.run_id, "c2")});
  repo_->mark_published(repo_->pending_messages(10).front().outbox_id);
  const ExportRun claimed = claimed_run(2);
  repo_->record_failure(claimed.run_id, OwnerId("x"), claimed.attempts, "upload failed");
  // Finished, but after the cutoff.
  clock_.advance(10 * kDay);
  const ExportRun recent = completed_run(1, {"r1"});
  const std::int64_t users = count("SELECT count(*) FROM users");
  const std::int64_t sent = count("SELECT count(*) FROM users WHERE sent_to_matching_service");

  const PruneCounts counts = prune_before(start + 5 * kDay);

  EXPECT_EQ(counts.runs, 2);
  EXPECT_EQ(counts.run_items, 3);
  EXPECT_EQ(counts.outbox, 3);  // the delivered run's two and the committed run's delivered one
  EXPECT_EQ(runs_with_id(delivered.run_id), 0);
  EXPECT_EQ(items_of(delivered.run_id), 0);
  EXPECT_EQ(
      count("SELECT count(*) FROM export_outbox WHERE run_id = " + quote(delivered.run_id.str())),
      0);
  EXPECT_EQ(runs_with_id(empty.run_id), 0);

  EXPECT_EQ(repo_->find_run(committed.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(items_of(committed.run_id), 1);
  EXPECT_EQ(messages_of(committed.run_id, "pending"), 1);
  EXPECT_EQ(messages_of(committed.run_id, "published"), 0);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(repo_->find_run(claimed.run_id)->state, RunState::kClaimed);
  EXPECT_EQ(items_of(claimed.run_id), 2);
  EXPECT_EQ(repo_->find_run(recent.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(items_of(recent.run_id), 1);
  EXPECT_EQ(messages_of(recent.run_id, "published"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM users"), users);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE sent_to_matching_service"), sent);
  EXPECT_EQ(count("SELECT count(*) FROM matching_groups"), 5);

  // A second prune with the same cutoff finds nothing more.
  EXPECT_EQ(prune_before(start + 5 * kDay).total(), 0);
}

TEST_P(PruneContract, ARunIsPrunedOnceItsLastMessageIsDeliveredAndOldEnough) {
  const ExportRun committed = claimed_run(2);
  commit_run(committed.run_id, "x", {message(committed.run_id, "m1")});
  clock_.advance(40 * kDay);
  EXPECT_EQ(prune_before(clock_.now() - 30 * kDay).total(), 0);
  EXPECT_EQ(repo_->find_run(committed.run_id)->state, RunState::kCommitted);

  publish_pending_of(committed.run_id);  // completed now: young again
  EXPECT_EQ(prune_before(clock_.now() - 30 * kDay).total(), 0);
  clock_.advance(31 * kDay);
  const PruneCounts counts = prune_before(clock_.now() - 30 * kDay, 10'000);
  EXPECT_EQ(counts.runs, 1);
  EXPECT_EQ(counts.run_items, 2);
  EXPECT_EQ(counts.outbox, 1);
  EXPECT_FALSE(repo_->find_run(committed.run_id).has_value());
}

TEST_P(PruneContract, ManyRunsArePrunedAcrossBatches) {
  for (int i = 0; i < 5; ++i) completed_run(1, {"m" + std::to_string(i)});
  clock_.advance(kDay);
  const PruneCounts counts = prune_before(clock_.now(), /*batch_rows=*/3);
  EXPECT_EQ(counts.runs, 5);
  EXPECT_EQ(counts.run_items, 5);
  EXPECT_EQ(counts.outbox, 5);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);
}

TEST_P(PruneContract, AStopRequestEndsThePruneAfterTheCurrentBatch) {
  completed_run(1, {"m1", "m2", "m3"});
  clock_.advance(kDay);
  std::atomic<bool> stop{true};
  PruneRequest request;
  request.older_than = clock_.now();
  request.batch_rows = 1;
  request.stop = &stop;
  const PruneCounts counts = repo_->prune(request);
  EXPECT_EQ(counts.outbox, 1);  // one transaction of one row, then it stopped
  EXPECT_EQ(counts.runs, 0);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);

  stop = false;
  EXPECT_EQ(repo_->prune(request).total(), 2 + 1 + 1);  // the rest, one row per transaction
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 0);
}

TEST_P(PruneContract, ABatchSizeBelowOneIsRefused) {
  try {
    prune_before(clock_.now(), 0);
    ADD_FAILURE() << "prune with a batch of 0 rows did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
  }
}

}  // namespace user_export::testing
