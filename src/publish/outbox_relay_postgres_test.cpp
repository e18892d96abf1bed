// Several outbox relays on one PostgreSQL database, each with its own connections and owner
// name, as several instances (or a one-shot `relay` beside `run`) are.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "publish/outbox_relay.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "support/fake_clock.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export {
namespace {

using testing::add_group;
using testing::add_user;
using testing::claim_request;
using testing::test_uuid;

const Slot kSlot{std::chrono::seconds{1'767'225'600}};

/// Delivers everything and records what it was asked to send. Each send takes a moment, as a
/// broker's round trip does, so passes of two relays overlap.
class RecordingSink final : public MessageSink {
 public:
  std::vector<DeliveryResult> publish(std::span<const OutboundMessage> messages) override {
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
    std::lock_guard lock(mu_);
    for (const auto& m : messages) sent_.push_back(m);
    return std::vector<DeliveryResult>(messages.size());
  }
  DeliveryResult publish_dead_letter(const OutboundMessage&, const DeadLetter&) override {
    return {};
  }
  void flush(std::chrono::milliseconds) override {}

  std::vector<OutboundMessage> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<OutboundMessage> sent_;
};

/// One relay as one process has it: its own repository (connection pool), sink and owner name.
struct RelayProcess {
  RelayProcess(const std::string& url, testing::FakeClock& clock, const Config& config,
               std::string owner)
      : repository(url, clock),
        relay(repository, sink, metrics, clock, clock, random, config, OwnerId(std::move(owner))) {}

  PostgresRepository repository;
  RecordingSink sink;
  Metrics metrics;
  testing::FakeRandom random;
  OutboxRelay relay;
};

class OutboxRelayPostgresTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    domain_ = test_uuid(1, 1);
  }

  /// Commits `runs` runs (one group and user each) of `per_run` messages; returns the run ids.
  std::vector<RunId> commit_runs(int runs, int per_run) {
    std::vector<RunId> run_ids;
    for (int g = 1; g <= runs; ++g) {
      const std::string group = add_group(*sql_, domain_, static_cast<std::uint64_t>(g));
      add_user(*sql_, group);
      const ExportRun run = repo_->claim(
          claim_request(domain_, group, kSlot, "exporter", static_cast<std::uint64_t>(g)));
      CommitRequest commit;
      commit.run_id = run.run_id;
      commit.owner = OwnerId("exporter");
      commit.attempt = run.attempts;
      for (int i = 0; i < per_run; ++i) {
        OutboundMessage m;
        m.run_id = run.run_id;
        m.topic = "flairbit-users";
        m.key = group;
        m.payload = "{\"runId\":\"" + run.run_id.str() + "\",\"part\":" + std::to_string(i) + "}";
        m.headers = {{"runId", run.run_id.str()}};
        commit.messages.push_back(std::move(m));
      }
      repo_->commit(commit);
      run_ids.push_back(run.run_id);
    }
    return run_ids;
  }

  std::string domain_;
  Config config_;
};

// Two relays relaying one outbox at the same time deliver every message, and no message is
// sent by both (before relays claimed their messages, both sent nearly every message).
TEST_F(OutboxRelayPostgresTest, TwoRelaysAtOnceSendEveryMessageExactlyOnce) {
  constexpr int kRuns = 6;
  constexpr int kPerRun = 50;
  const std::vector<RunId> run_ids = commit_runs(kRuns, kPerRun);
  ASSERT_EQ(repo_->pending_count(), kRuns * kPerRun);

  RelayProcess one(db_->url(), clock_, config_, "host-a:101");
  RelayProcess two(db_->url(), clock_, config_, "host-b:202");
  std::latch start(2);
  auto relay_until_empty = [&](RelayProcess& process) {
    start.arrive_and_wait();
    try {
      while (process.repository.pending_count() > 0) {
        if (process.relay.relay_once(20).delivered == 0) std::this_thread::yield();
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << process.relay.owner() << ": relay pass failed: " << e.what();
    }
  };
  std::thread first(relay_until_empty, std::ref(one));
  std::thread second(relay_until_empty, std::ref(two));
  first.join();
  second.join();

  std::map<std::int64_t, int> sends;  // by outbox id, across both relays
  std::map<RunId, int> sends_per_run;
  for (const RelayProcess* process : {&one, &two}) {
    for (const auto& m : process->sink.sent()) {
      ++sends[m.outbox_id];
      ++sends_per_run[m.run_id];
    }
  }
  EXPECT_EQ(sends.size(), static_cast<std::size_t>(kRuns * kPerRun)) << "every message is sent";
  int sent_twice = 0;
  for (const auto& [id, times] : sends) sent_twice += times > 1 ? 1 : 0;
  EXPECT_EQ(sent_twice, 0) << "messages sent by both relays (or twice by one)";
  for (const RunId& run_id : run_ids) {
    EXPECT_EQ(sends_per_run[run_id], kPerRun) << "run " << run_id;
    EXPECT_EQ(repo_->find_run(run_id)->state, RunState::kCompleted) << "run " << run_id;
  }
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox WHERE state = 'published' AND "
                   "claimed_by IS NULL AND claim_expires_at IS NULL"),
            std::to_string(kRuns * kPerRun));
}

// A relay that claimed messages and died (no send, no mark) holds them up only until its claim
// runs out; then another relay delivers them.
TEST_F(OutboxRelayPostgresTest, ARelayThatDiedHoldingAClaimDelaysItsMessagesOnlyUntilItRunsOut) {
  const std::vector<RunId> run_ids = commit_runs(2, 3);
  RelayProcess survivor(db_->url(), clock_, config_, "host-b:202");
  const std::chrono::seconds lease = survivor.relay.claim_lease();
  {
    PostgresRepository dead(db_->url(), clock_);
    ASSERT_EQ(dead.claim_messages(500, OwnerId("host-a:101"), lease).size(), 6u);
  }

  EXPECT_EQ(survivor.relay.relay_once().delivered, 0);
  clock_.advance(lease - std::chrono::seconds{1});
  RelayStats stats = survivor.relay.relay_once();
  EXPECT_EQ(stats.delivered, 0);
  EXPECT_EQ(stats.pending, 6);
  EXPECT_TRUE(survivor.sink.sent().empty());

  clock_.advance(std::chrono::seconds{1});
  stats = survivor.relay.relay_once();
  EXPECT_EQ(stats.delivered, 6);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(survivor.sink.sent().size(), 6u);
  for (const RunId& run_id : run_ids) {
    EXPECT_EQ(repo_->find_run(run_id)->state, RunState::kCompleted);
  }
}

}  // namespace
}  // namespace user_export
