// Claim and commit under concurrency: several instances, transactions that commit late.
#include <gtest/gtest.h>

#include <atomic>
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
const std::vector<std::string> kFields = {"id", "ref_id", "username"};

class PostgresConcurrencyTest : public PostgresGroupTest {
 protected:
  std::vector<std::int64_t> streamed_ids(Repository& repo, const RunId& run_id) {
    CollectingHandler handler;
    repo.stream_rows(run_id, kFields, handler);
    std::vector<std::int64_t> ids;
    for (const auto& row : handler.rows) ids.push_back(std::stoll(*row[0]));
    return ids;
  }

  void commit(Repository& repo, const RunId& run_id, const std::string& owner) {
    CommitRequest request;
    request.run_id = run_id;
    request.owner = OwnerId(owner);
    request.attempt = repo.find_run(run_id)->attempts;
    repo.commit(request);
  }
};

// Instances claiming different slots of one group at the same time, while users keep arriving,
// never claim (or mark) the same user twice, and every marked user was claimed by one run.
TEST_F(PostgresConcurrencyTest, ConcurrentClaimsOfOneGroupNeverShareAUser) {
  add_users(*sql_, group_, 3000);
  constexpr int kInstances = 4;
  constexpr int kRounds = 8;
  std::atomic<bool> inserting{true};
  std::atomic<int> runs_with_users{0};
  std::atomic<int> lease_conflicts{0};
  std::vector<std::string> failures(kInstances);

  std::string writer_error;
  std::thread writer([&] {
    try {
      auto c = db_->connect();
      while (inserting) add_users(*c, group_, 25);
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  std::vector<std::thread> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.emplace_back([&, i] {
      try {
        PostgresRepository repo(db_->url(), clock_, 2);  // its own connections
        for (int round = 0; round < kRounds; ++round) {
          std::string owner = "instance-" + std::to_string(i);
          Slot slot = kSlot + std::chrono::minutes{round * kInstances + i};
          ExportRun run;
          try {
            run = repo.claim(claim_request(domain_, group_, slot, owner,
                                           static_cast<std::uint64_t>(1000 * i + round)));
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kLeaseLost) throw;
            ++lease_conflicts;  // another instance's run of this group is in progress
            continue;
          }
          if (run.item_count == 0) {
            repo.complete_empty(run.run_id, OwnerId(owner), run.attempts);
            continue;
          }
          ++runs_with_users;
          commit(repo, run.run_id, owner);
        }
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& t : instances) t.join();
  inserting = false;
  writer.join();
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(writer_error, "");

  EXPECT_GE(runs_with_users.load(), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT user_id FROM export_run_items GROUP BY user_id "
                   "HAVING count(*) > 1) twice"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM users u WHERE sent_to_matching_service AND NOT EXISTS "
                   "(SELECT 1 FROM export_run_items i WHERE i.user_id = u.id)"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_run_items i JOIN users u ON u.id = i.user_id "
                   "WHERE NOT u.sent_to_matching_service"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs WHERE state = 'claimed'"), "0");
  EXPECT_EQ(scalar("SELECT sum(item_count) FROM export_runs"),
            scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"));
}

// The classic loss of polling exporters: a transaction that started earlier commits a user
// with a lower id after the export read the group. Here that user is neither streamed nor
// marked by the run that was claimed meanwhile; the next run claims it.
TEST_F(PostgresConcurrencyTest, AUserCommittedAfterTheClaimIsLeftForTheNextRun) {
  std::int64_t before = add_user(*sql_, group_);
  auto slow = db_->connect();
  slow->exec("BEGIN");
  std::int64_t late = add_user(*slow, group_);   // lower id, not yet committed
  std::int64_t early = add_user(*sql_, group_);  // higher id, committed now
  ASSERT_LT(late, early);

  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "me", 1));
  slow->exec("COMMIT");
  std::int64_t during = 0;
  {
    // A user committed while the run streams is not streamed either.
    class InsertingHandler : public RowHandler {
     public:
      InsertingHandler(Connection& c, const std::string& group, std::int64_t& id)
          : c_(c), group_(group), id_(id) {}
      void on_row(RowView row) override {
        if (id_ == 0) id_ = add_user(c_, group_);
        ids.push_back(std::stoll(std::string(*row[0])));
      }
      std::vector<std::int64_t> ids;

     private:
      Connection& c_;
      const std::string& group_;
      std::int64_t& id_;
    } handler(*sql_, group_, during);
    repo_->stream_rows(run.run_id, kFields, handler);
    EXPECT_EQ(handler.ids, (std::vector<std::int64_t>{before, early}));
  }
  ASSERT_NE(during, 0);
  EXPECT_EQ(streamed_ids(*repo_, run.run_id), (std::vector<std::int64_t>{before, early}));
  commit(*repo_, run.run_id, "me");
  EXPECT_EQ(scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM users WHERE "
                   "sent_to_matching_service"),
            std::to_string(before) + "," + std::to_string(early));

  ExportRun next = repo_->claim(claim_request(domain_, group_, kSlot + 24h, "me", 2));
  EXPECT_EQ(next.item_count, 2);
  EXPECT_EQ(streamed_ids(*repo_, next.run_id), (std::vector<std::int64_t>{late, during}));
}

// A user the claim cannot see yet does not block it either: the claim neither waits for nor
// locks rows that other transactions are writing.
TEST_F(PostgresConcurrencyTest, ClaimDoesNotWaitForUncommittedWriters) {
  add_user(*sql_, group_);
  auto writer = db_->connect();
  writer->exec("BEGIN");
  add_user(*writer, group_);
  writer->exec("UPDATE users SET email = 'x@example.com'");  // row locks on every user
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "me", 1));
  EXPECT_EQ(run.item_count, 1);
  writer->exec("ROLLBACK");
}

// The fencing check and the writes of commit are atomic with respect to a take-over: a claim
// that arrives while a commit holds the run waits for it and then finds the run finished.
TEST_F(PostgresConcurrencyTest, ATakeOverWaitsForAnInFlightCommit) {
  add_users(*sql_, group_, 50);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));
  auto blocker = db_->connect();
  blocker->exec("BEGIN");
  blocker->exec("SELECT 1 FROM users FOR UPDATE");  // holds commit's UPDATE of users
  std::string commit_error;
  std::thread committer([&] {
    try {
      commit(*repo_, run.run_id, "a");
    } catch (const std::exception& e) {
      commit_error = e.what();
    }
  });
  // Wait until the commit is blocked inside its transaction (after its fencing check).
  bool blocked = false;
  for (int i = 0; i < 3000 && !blocked; ++i) {
    blocked = scalar(
                  "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'") != "0";
    if (!blocked) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(blocked);
  clock_.advance(301s);  // a's lease expires while its commit is in flight
  std::atomic<bool> claimed{false};
  ExportRun other;
  std::string claim_error;
  std::thread claimer([&] {
    try {
      PostgresRepository repo(db_->url(), clock_, 1);
      other = repo.claim(claim_request(domain_, group_, kSlot + 1h, "b", 2));
    } catch (const std::exception& e) {
      claim_error = e.what();
    }
    claimed = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(claimed.load());  // waiting for the commit's lock on the run
  blocker->exec("COMMIT");
  committer.join();
  claimer.join();
  EXPECT_EQ(commit_error, "");
  EXPECT_EQ(claim_error, "");
  EXPECT_FALSE(other.resumed);
  EXPECT_EQ(other.item_count, 0);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "50");
}

// A process that stalls inside a transaction (paused, swapping) holds its locks only until the
// transaction's idle limit: then the server ends its session, another instance takes the run
// over, and the stalled process's next statement fails instead of writing.
TEST_F(PostgresConcurrencyTest, AStalledTransactionLosesItsLocksAfterItsIdleLimit) {
  add_users(*sql_, group_, 5);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "a", 1));

  Connection stalled(db_->url());
  Transaction tx(stalled, 200ms);
  stalled.exec("SELECT 1 FROM export_runs WHERE run_id = $1 FOR UPDATE", {run.run_id.str()});
  std::this_thread::sleep_for(1s);  // stalled, past its idle limit

  clock_.advance(std::chrono::hours(1));  // a's lease has run out
  ExportRun taken = repo_->claim(claim_request(domain_, group_, kSlot, "b", 2));
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.attempts, 2);
  try {
    stalled.exec("UPDATE export_runs SET state = 'completed' WHERE run_id = $1",
                 {run.run_id.str()});
    ADD_FAILURE() << "the stalled transaction wrote after its idle limit";
  } catch (const Error& e) {
    EXPECT_TRUE(e.retriable()) << e.what();
  }
  EXPECT_EQ(scalar("SELECT state FROM export_runs WHERE run_id = $1", {run.run_id.str()}),
            "claimed");
}

TEST_F(PostgresConcurrencyTest, ThePoolNeverOpensMoreThanItsSizeAndWaitsForAConnection) {
  ASSERT_EQ(db_->url().find('?'), std::string::npos);
  Pool pool(db_->url() + "?application_name=pool_cap_test", 3, 300ms);
  std::atomic<int> done{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto c = pool.acquire();
        c->exec("SELECT pg_sleep(0.002)");
      }
      ++done;
    });
  }
  threads.clear();
  EXPECT_EQ(done.load(), 8);
  EXPECT_EQ(pool.peak_connections(), 3u);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'pool_cap_test'"),
            "3")
      << "pool_size caps the sessions";

  // All on loan: the next caller waits, then gets a retriable error that names pool_size.
  auto a = pool.acquire();
  auto b = pool.acquire();
  auto c = pool.acquire();
  try {
    pool.acquire();
    ADD_FAILURE() << "a fourth connection was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase);
    EXPECT_TRUE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("pool_size"), std::string::npos) << e.what();
  }
  // One comes back while another caller waits: that caller gets it.
  std::jthread giver([moved = std::move(c)]() mutable {
    std::this_thread::sleep_for(50ms);
    { auto gone = std::move(moved); }
  });
  auto d = pool.acquire();
  EXPECT_EQ(d->exec("SELECT 1").int64(0, 0), 1);
  EXPECT_EQ(pool.peak_connections(), 3u);
}

// Optional work (a claim's snapshot) takes a connection only while others stay free, and
// never waits: 60 claims whose runs were never streamed must not starve the pool.
TEST_F(PostgresConcurrencyTest, OptionalWorkLeavesConnectionsFreeAndNeverWaits) {
  Pool pool(db_->url(), 3, 10s);
  auto held = pool.acquire();
  auto optional = pool.try_acquire(1);
  ASSERT_TRUE(optional.has_value()) << "two free, one kept free: one may be taken";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.try_acquire(1).has_value()) << "only one is free and it is kept";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "try_acquire must not wait";
  EXPECT_TRUE(pool.try_acquire(0).has_value());
  EXPECT_EQ(pool.peak_connections(), 3u);
}

// Claims whose runs are never streamed here keep their snapshots for a while; later claims and
// every other operation still get connections at once.
TEST_F(PostgresConcurrencyTest, ClaimsThatAreNeverStreamedDoNotExhaustThePool) {
  PostgresRepository repo(db_->url(), clock_, 3);
  for (int i = 0; i < 6; ++i) {
    const std::string group = add_group(*sql_, domain_, 10 + i);
    add_users(*sql_, group, 2);
    const auto start = std::chrono::steady_clock::now();
    ExportRun run = repo.claim(
        claim_request(domain_, group, kSlot, "owner", static_cast<std::uint64_t>(100 + i)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "claim " << i << " waited";
    EXPECT_EQ(run.item_count, 2);
  }
  EXPECT_LE(repo.pool().peak_connections(), 3u);
}

}  // namespace
}  // namespace user_export::pg
