// Marking while streaming on PostgreSQL (docs/ARCHITECTURE.md, "Marking while streaming"): a
// commit begun early marks the users in a transaction nobody else sees until it finishes; a run
// that fails releases them; a lost lease, a stalled process and a takeover never let it commit.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export::pg {
namespace {

using namespace user_export::testing;
using namespace std::chrono_literals;

const Slot kSlot{std::chrono::seconds{1'767'225'600}};

class PostgresOpenCommitTest : public PostgresGroupTest {
 protected:
  CommitRequest request(const ExportRun& run, const std::string& owner = "a") {
    CommitRequest request{run.run_id, OwnerId(owner), run.attempts, true, std::nullopt, {}};
    OutboundMessage message;
    message.topic = "users-export";
    message.key = group_;
    message.payload = R"({"runId":")" + run.run_id.str() + R"("})";
    request.messages.push_back(message);
    return request;
  }
  std::string marked() {
    return scalar("SELECT count(*) FROM users WHERE sent_to_matching_service");
  }
  /// Waits (real time) until another session finds `count` of the group's users locked.
  bool locked(int count) {
    for (int i = 0; i < 500; ++i) {
      auto other = db_->connect();
      other->exec("BEGIN");
      const std::int64_t free =
          other
              ->exec(
                  "SELECT count(*) FROM (SELECT 1 FROM users WHERE group_id = $1 "
                  "FOR UPDATE SKIP LOCKED) AS f",
                  {group_})
              .int64(0, 0);
      other->exec("ROLLBACK");
      const std::int64_t all =
          std::stoll(scalar("SELECT count(*) FROM users WHERE group_id = $1", {group_}));
      if (all - free == count) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

TEST_F(PostgresOpenCommitTest, MarksUnseenUntilTheRunCommits) {
  add_users(*sql_, group_, 30);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s);
  ASSERT_NE(open, nullptr);
  ASSERT_TRUE(locked(30)) << "the users are marked (and locked) while the run streams";
  CountingHandler rows;
  repo_->stream_rows(run.run_id, {"id"}, rows);
  EXPECT_EQ(rows.rows, 30) << "the stream reads the claimed users as they were";
  EXPECT_EQ(marked(), "0") << "nobody sees the marks before the commit";
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);

  EXPECT_TRUE(open->finish(request(run)));
  EXPECT_EQ(marked(), "30");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox WHERE run_id = $1", {run.run_id.str()}),
            "1");
  open.reset();
  EXPECT_EQ(marked(), "30");
}

TEST_F(PostgresOpenCommitTest, ARunThatFailsReleasesItsMarksAndCanCommitTheUsualWay) {
  add_users(*sql_, group_, 20);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s);
  ASSERT_NE(open, nullptr);
  ASSERT_TRUE(locked(20));
  open.reset();  // the attempt failed
  EXPECT_TRUE(locked(0)) << "the users are free again";
  EXPECT_EQ(marked(), "0");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
  repo_->commit(request(run));
  EXPECT_EQ(marked(), "20");
}

// A run whose lease was taken over while its marks were open: the finish finds the lease lost
// and commits nothing; the attempt that took the run over waits for the marks to be released
// and then commits every user once.
TEST_F(PostgresOpenCommitTest, ALeaseLostMeanwhileCommitsNothingAndTheTakeOverCommits) {
  add_users(*sql_, group_, 25);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s);
  ASSERT_NE(open, nullptr);
  ASSERT_TRUE(locked(25));
  clock_.advance(301s);  // a stalls past its lease
  PostgresRepository other_repo(db_->url(), clock_);
  ExportRun taken = other_repo.claim(claim_request(domain_, group_, kSlot, "b", 2));
  ASSERT_EQ(taken.run_id, run.run_id);
  ASSERT_EQ(taken.attempts, 2);
  auto other_commit =
      std::async(std::launch::async, [&] { other_repo.commit(request(taken, "b")); });
  EXPECT_EQ(other_commit.wait_for(300ms), std::future_status::timeout)
      << "b's marking waits for a's open marks";

  try {
    open->finish(request(run));
    ADD_FAILURE() << "a committed after losing its lease";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLeaseLost) << e.what();
  }
  open.reset();
  ASSERT_EQ(other_commit.wait_for(10s), std::future_status::ready);
  other_commit.get();
  EXPECT_EQ(marked(), "25");
  EXPECT_EQ(scalar("SELECT attempts FROM export_runs WHERE run_id = $1", {run.run_id.str()}), "2");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "1") << "only b's message";
}

// A stalled process: its open transaction sits idle past its limit and the server ends it,
// freeing the users for a takeover. When the process runs again, the finish says it cannot
// commit (nothing was), and the usual commit decides by the lease.
TEST_F(PostgresOpenCommitTest, AnOpenCommitEndedByItsIdleLimitCommitsNothing) {
  add_users(*sql_, group_, 10);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 300ms);
  ASSERT_NE(open, nullptr);
  ASSERT_TRUE(locked(10));
  EXPECT_TRUE(locked(0)) << "the server ended the idle transaction and released the users";
  EXPECT_FALSE(open->finish(request(run)));
  open.reset();
  EXPECT_EQ(marked(), "0");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
  repo_->commit(request(run));  // the lease is still a's: the usual commit marks them
  EXPECT_EQ(marked(), "10");
}

TEST_F(PostgresOpenCommitTest, NoOpenCommitWithoutTheLease) {
  add_users(*sql_, group_, 3);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  EXPECT_EQ(repo_->begin_commit(run.run_id, OwnerId("b"), 1, 60s), nullptr);
  EXPECT_EQ(repo_->begin_commit(run.run_id, OwnerId("a"), 2, 60s), nullptr);
  EXPECT_EQ(repo_->begin_commit(RunId("not-a-run"), OwnerId("a"), 1, 60s), nullptr);
  clock_.advance(301s);
  EXPECT_EQ(repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s), nullptr);
  EXPECT_TRUE(locked(0));
}

TEST_F(PostgresOpenCommitTest, AFinishForAnotherAttemptCommitsNothing) {
  add_users(*sql_, group_, 4);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s);
  ASSERT_NE(open, nullptr);
  CommitRequest other = request(run);
  other.attempt = 2;
  EXPECT_FALSE(open->finish(other));
  CommitRequest unmarked = request(run);
  unmarked.mark_sent = false;
  EXPECT_FALSE(open->finish(unmarked));
  open.reset();
  EXPECT_EQ(marked(), "0");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
}

// A run that fails while its marking waits (here for another transaction's locks) does not wait
// for it: the marking is cancelled and rolled back at once.
TEST_F(PostgresOpenCommitTest, AFailedRunCancelsItsMarkingInsteadOfWaitingForIt) {
  add_users(*sql_, group_, 5);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  auto blocker = db_->connect();
  blocker->exec("BEGIN");
  blocker->exec("SELECT 1 FROM users FOR UPDATE");
  std::unique_ptr<OpenCommit> open = repo_->begin_commit(run.run_id, OwnerId("a"), 1, 60s);
  ASSERT_NE(open, nullptr);
  auto ended = std::async(std::launch::async, [&] { open.reset(); });
  const bool quick = ended.wait_for(10s) == std::future_status::ready;
  blocker->exec("ROLLBACK");  // lets a marking that was not cancelled end, so the test ends
  ended.wait();
  EXPECT_TRUE(quick) << "ending the open commit waited for its marking";
  EXPECT_EQ(marked(), "0");
}

}  // namespace
}  // namespace user_export::pg
