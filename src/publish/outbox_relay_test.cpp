#include "publish/outbox_relay.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <functional>

#include "common/process_owner.hpp"
#include "source/repository.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using Status = DeliveryResult::Status;

/// A sink whose answers the test scripts; records what it was asked to send.
class ScriptedSink final : public MessageSink {
 public:
  std::vector<DeliveryResult> publish(std::span<const OutboundMessage> messages) override {
    if (while_sending) {
      // Once: what happens while these messages are on their way (another relay's pass, time).
      auto hook = std::move(while_sending);
      while_sending = nullptr;
      hook();
    }
    std::vector<DeliveryResult> out;
    for (const auto& m : messages) {
      sent.push_back(m);
      Status s = answers.empty() ? Status::kDelivered : answers.front();
      if (!answers.empty()) answers.pop_front();
      out.push_back({s,
                     s == Status::kDelivered
                         ? ""
                         : (s == Status::kFatal ? "MSG_SIZE_TOO_LARGE" : "_TRANSPORT"),
                     s == Status::kDelivered ? "" : "scripted failure"});
    }
    return out;
  }
  DeliveryResult publish_dead_letter(const OutboundMessage& m, const DeadLetter& why) override {
    dead.emplace_back(m, why);
    return {dlq_ok ? Status::kDelivered : Status::kRetriable, dlq_ok ? "" : "_TRANSPORT", ""};
  }
  void flush(std::chrono::milliseconds) override {}

  std::deque<Status> answers;
  bool dlq_ok = true;
  std::function<void()> while_sending;  ///< runs once, at the start of the next publish()
  std::vector<OutboundMessage> sent;
  std::vector<std::pair<OutboundMessage, DeadLetter>> dead;
};

class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.retry.max_attempts = 3;
    config_.kafka.circuit_failure_threshold = 2;
    config_.kafka.circuit_cool_down = std::chrono::seconds{30};
    repo_ = open_repository("sqlite://" + (dir_ / "db.sqlite").string(), clock_);
    repo_->migrate();
    DomainId domain = DomainId::parse("5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41");
    repo_->seed(SeedPlan{domain, 4, 1, 3}, {});
    auto group = repo_->active_groups(domain).at(0);
    ClaimRequest claim{group.id,
                       domain,
                       Slot{std::chrono::seconds{1'767'225'600}},
                       OwnerId("me"),
                       std::chrono::seconds{300},
                       RunId("11111111-2222-4333-8444-555555555555"),
                       {}};
    ExportRun run = repo_->claim(claim);
    CommitRequest commit;
    commit.run_id = run.run_id;
    commit.owner = OwnerId("me");
    commit.attempt = run.attempts;
    for (int i = 0; i < 3; ++i) {
      OutboundMessage m;
      m.run_id = run.run_id;
      m.topic = "flairbit-users";
      m.key = group.id.str();
      m.payload = "{\"n\":" + std::to_string(i) + "}";
      commit.messages.push_back(m);
    }
    repo_->commit(commit);
    run_id_ = run.run_id;
  }
  void TearDown() override { repo_.reset(); }
  OutboxRelay relay() {
    return OutboxRelay(*repo_, sink_, metrics_, clock_, clock_, random_, config_,
                       OwnerId("relay-a"));
  }
  /// The payloads `sink` sent, in order.
  static std::vector<std::string> payloads(const ScriptedSink& sink) {
    std::vector<std::string> out;
    for (const auto& m : sink.sent) out.push_back(m.payload);
    return out;
  }

  testing::TempDir dir_{"outbox-relay-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  ScriptedSink sink_;
  std::unique_ptr<Repository> repo_;
  RunId run_id_;
};

TEST_F(OutboxRelayTest, DeliveredMessagesArePublishedAndTheRunCompletes) {
  auto r = relay();
  RelayStats stats = r.relay_once();
  EXPECT_EQ(stats.delivered, 3);
  EXPECT_EQ(stats.pending, 0);
  ASSERT_EQ(sink_.sent.size(), 3u);
  EXPECT_EQ(sink_.sent[0].payload, "{\"n\":0}");  // oldest first
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCompleted);
  EXPECT_EQ(metrics_.value("users_export_outbox_pending"), 0);
  EXPECT_EQ(metrics_.value("users_export_messages_published_total", {{"topic", "flairbit-users"}}),
            3);
}

TEST_F(OutboxRelayTest, CountersAndGaugesExistAtZeroBeforeAnyDelivery) {
  auto r = relay();
  EXPECT_EQ(metrics_.value("users_export_messages_published_total", {{"topic", "flairbit-users"}}),
            0);
  EXPECT_EQ(metrics_.value("users_export_circuit_breaker_state", {{"name", "publish"}}), 0);
}

TEST_F(OutboxRelayTest, RetriableFailureStaysPendingUntilItsBackoffHasPassed) {
  sink_.answers = {Status::kRetriable, Status::kDelivered, Status::kDelivered};
  auto r = relay();
  RelayStats first = r.relay_once();
  EXPECT_EQ(first.failed, 1);
  EXPECT_EQ(first.pending, 1);
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCommitted);
  EXPECT_TRUE(repo_->pending_messages(10).empty()) << "not due before its back-off";
  clock_.advance(std::chrono::seconds{1});
  RelayStats second = r.relay_once();
  EXPECT_EQ(second.delivered, 1);
  EXPECT_EQ(second.pending, 0);
  EXPECT_EQ(sink_.sent.back().payload, "{\"n\":0}");
  EXPECT_EQ(sink_.sent.back().attempts, 1);
}

TEST_F(OutboxRelayTest, FatalFailureGoesToTheDeadLetterTopicWithItsReason) {
  sink_.answers = {Status::kFatal};
  auto r = relay();
  RelayStats stats = r.relay_once();
  EXPECT_EQ(stats.dead_lettered, 1);
  EXPECT_EQ(stats.delivered, 2);
  ASSERT_EQ(sink_.dead.size(), 1u);
  EXPECT_EQ(sink_.dead[0].second.original_topic, "flairbit-users");
  EXPECT_EQ(sink_.dead[0].second.error_code, "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(sink_.dead[0].second.attempts, 1);
  EXPECT_EQ(metrics_.value("export_to_dlq_total",
                           {{"key", sink_.dead[0].first.key}, {"topic", "flairbit-dlq"}}),
            1);
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCompleted);
}

TEST_F(OutboxRelayTest, FailedDeadLetterSendKeepsTheMessagePending) {
  sink_.answers = {Status::kFatal};
  sink_.dlq_ok = false;
  auto r = relay();
  RelayStats stats = r.relay_once();
  EXPECT_EQ(stats.dead_lettered, 0);
  EXPECT_EQ(stats.pending, 1);
  EXPECT_EQ(metrics_.value("export_to_dlq_total",
                           {{"key", sink_.dead[0].first.key}, {"topic", "flairbit-dlq"}}),
            -1);
}

TEST_F(OutboxRelayTest, CircuitOpensAfterConsecutiveFailedPassesAndProbesAfterCoolDown) {
  for (int i = 0; i < 6; ++i) sink_.answers.push_back(Status::kRetriable);
  auto r = relay();
  auto gauge = [&] {
    return metrics_.value("users_export_circuit_breaker_state", {{"name", "publish"}});
  };
  EXPECT_EQ(gauge(), 0);
  r.relay_once();
  clock_.advance(std::chrono::minutes{1});
  r.relay_once();  // second consecutive failed pass: opens
  EXPECT_EQ(r.breaker().state(), CircuitState::kOpen);
  EXPECT_EQ(gauge(), 1);
  const auto sent = sink_.sent.size();
  clock_.advance(std::chrono::seconds{10});
  RelayStats refused = r.relay_once();
  EXPECT_TRUE(refused.circuit_open);
  EXPECT_EQ(sink_.sent.size(), sent) << "nothing is sent while the circuit is open";
  clock_.advance(std::chrono::seconds{30});
  sink_.answers.clear();
  RelayStats probe = r.relay_once();  // half-open probe succeeds: closed
  EXPECT_EQ(probe.delivered, 3);
  EXPECT_EQ(r.breaker().state(), CircuitState::kClosed);
  EXPECT_EQ(gauge(), 0);
}

TEST_F(OutboxRelayTest, RateLimitPacesSendsOnTheInjectedClock) {
  config_.kafka.rate_limit_messages_per_second = 1;
  auto r = relay();
  auto before = clock_.now();
  r.relay_once();
  EXPECT_EQ(sink_.sent.size(), 3u);
  // A bucket of one token refilling at 1/s: the 2nd and 3rd message wait a second each.
  EXPECT_EQ(clock_.now() - before, std::chrono::seconds{2});
}

TEST_F(OutboxRelayTest, DrainGivesUpAfterMaxWaitAndLeavesMessagesPending) {
  for (int i = 0; i < 100; ++i) sink_.answers.push_back(Status::kRetriable);
  config_.kafka.circuit_failure_threshold = 1000;
  auto r = relay();
  RelayStats stats = r.drain(std::chrono::seconds{5});
  EXPECT_EQ(stats.delivered, 0);
  EXPECT_EQ(stats.pending, 3);
  EXPECT_GE(clock_.now() - SystemTime{std::chrono::seconds{1'767'225'600}},
            std::chrono::seconds{5});
}

TEST(RelayClaimLeaseTest, CoversTwiceTheDeliveryTimeoutAndOneMessageOfEachRateLimit) {
  Config config;
  EXPECT_EQ(relay_claim_lease(config), std::chrono::seconds{60});  // 30 s delivery timeout
  config.messages.delivery_timeout = std::chrono::milliseconds{100};
  EXPECT_EQ(relay_claim_lease(config), std::chrono::seconds{60});
  config.messages.delivery_timeout = std::chrono::milliseconds{45'500};
  EXPECT_EQ(relay_claim_lease(config), std::chrono::seconds{92});
  config.kafka.rate_limit_messages_per_second = 0.4;  // a message every 2.5 s
  EXPECT_EQ(relay_claim_lease(config), std::chrono::seconds{95});
  config.messages.max_message_bytes = 1'000'000;
  config.kafka.rate_limit_bytes_per_second = 300'000;  // the largest message takes 3.3 s
  EXPECT_EQ(relay_claim_lease(config), std::chrono::seconds{99});
}

TEST_F(OutboxRelayTest, ARelayDoesNotSendWhatAnotherRelayClaimedAndIsSending) {
  ScriptedSink other_sink;
  OutboxRelay other(*repo_, other_sink, metrics_, clock_, clock_, random_, config_,
                    OwnerId("relay-b"));
  auto r = relay();
  RelayStats during{};
  // relay-a claims the two oldest; while they are on their way relay-b makes a pass.
  sink_.while_sending = [&] { during = other.relay_once(); };
  RelayStats stats = r.relay_once(2);
  EXPECT_EQ(payloads(sink_), (std::vector<std::string>{"{\"n\":0}", "{\"n\":1}"}));
  EXPECT_EQ(payloads(other_sink), (std::vector<std::string>{"{\"n\":2}"}));
  EXPECT_EQ(during.delivered, 1);
  EXPECT_EQ(during.pending, 2) << "relay-a's two are still in flight";
  EXPECT_EQ(stats.delivered, 2);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCompleted);
  EXPECT_EQ(other.relay_once().delivered, 0);
  EXPECT_EQ(r.relay_once().delivered, 0);
  EXPECT_EQ(sink_.sent.size() + other_sink.sent.size(), 3u);
}

TEST_F(OutboxRelayTest, MessagesOfARelayThatDiedHoldingTheirClaimAreSentWhenTheClaimRunsOut) {
  auto r = relay();
  // A relay of another host claimed everything and died before sending or marking anything:
  // only its claim running out tells.
  ASSERT_EQ(repo_->claim_messages(500, OwnerId("other-host:4242"), r.claim_lease()).size(), 3u);
  EXPECT_EQ(r.claim_lease(), std::chrono::seconds{60});

  RelayStats stats = r.relay_once();
  EXPECT_EQ(stats.delivered, 0);
  EXPECT_EQ(stats.pending, 3);
  clock_.advance(r.claim_lease() - std::chrono::seconds{1});
  EXPECT_EQ(r.relay_once().delivered, 0);
  EXPECT_TRUE(sink_.sent.empty()) << "nothing is sent while the dead relay's claim is live";

  clock_.advance(std::chrono::seconds{1});
  stats = r.relay_once();
  EXPECT_EQ(stats.delivered, 3);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(payloads(sink_), (std::vector<std::string>{"{\"n\":0}", "{\"n\":1}", "{\"n\":2}"}));
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCompleted);
}

TEST_F(OutboxRelayTest, MessagesClaimedByACrashedProcessOfThisHostAreSentAtOnce) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const OwnerId id(default_instance_id());
  ProcessIdentity gone = this_process();
  gone.pid = child;
  const OwnerId crashed(format_instance_id(gone));
  ASSERT_EQ(repo_->claim_messages(500, crashed, std::chrono::seconds{60}).size(), 3u);
  ASSERT_EQ(repo_->claim_messages(500, id, std::chrono::seconds{60}).size(), 0u);

  RelayStats stats = relay().relay_once();
  EXPECT_EQ(stats.delivered, 3);
  EXPECT_EQ(stats.pending, 0);
}

TEST_F(OutboxRelayTest, ClaimsOfALiveProcessOfThisHostAreNotTakenOver) {
  ASSERT_EQ(
      repo_->claim_messages(2, OwnerId(default_instance_id()), std::chrono::seconds{60}).size(),
      2u);
  RelayStats stats = relay().relay_once();
  EXPECT_EQ(stats.delivered, 1);
  EXPECT_EQ(stats.pending, 2);
  EXPECT_EQ(payloads(sink_), std::vector<std::string>{"{\"n\":2}"});
}

TEST_F(OutboxRelayTest, AnOpenCircuitHoldsNoClaimSoAnotherRelayDeliversTheMessages) {
  sink_.answers = {Status::kRetriable, Status::kRetriable, Status::kRetriable};
  config_.kafka.circuit_failure_threshold = 1;
  auto r = relay();
  EXPECT_EQ(r.relay_once().failed, 3);
  ASSERT_EQ(r.breaker().state(), CircuitState::kOpen);
  clock_.advance(std::chrono::seconds{1});  // the failed messages are due again
  const auto sent = sink_.sent.size();
  EXPECT_TRUE(r.relay_once().circuit_open);
  EXPECT_EQ(sink_.sent.size(), sent);

  ScriptedSink other_sink;
  OutboxRelay other(*repo_, other_sink, metrics_, clock_, clock_, random_, config_,
                    OwnerId("relay-b"));
  RelayStats stats = other.relay_once();
  EXPECT_EQ(stats.delivered, 3);
  EXPECT_EQ(stats.pending, 0);
}

TEST_F(OutboxRelayTest, RateLimitsNeverPaceASendPastTheClaim) {
  // 7-byte payloads at 0.25 bytes/s: 24 s for the first (one token to start), 28 s for each
  // next one. The claim lasts 60 s + 40 s (a 10-byte message at that rate); sends may start
  // during its first 100 - 30 - 10 = 60 s, so the third message is held back.
  config_.messages.max_message_bytes = 10;
  config_.kafka.rate_limit_bytes_per_second = 0.25;
  auto r = relay();
  ASSERT_EQ(r.claim_lease(), std::chrono::seconds{100});
  const SystemTime start = clock_.now();
  RelayStats first = r.relay_once();
  EXPECT_EQ(first.delivered, 2);
  EXPECT_EQ(first.pending, 1);
  EXPECT_EQ(payloads(sink_), (std::vector<std::string>{"{\"n\":0}", "{\"n\":1}"}));
  EXPECT_EQ(clock_.now() - start, std::chrono::seconds{80});

  // The held-back message stays claimed by this pass until the claim has run out.
  EXPECT_EQ(r.relay_once().delivered, 0);
  clock_.advance(start + r.claim_lease() - clock_.now());
  RelayStats second = r.relay_once();
  EXPECT_EQ(second.delivered, 1);
  EXPECT_EQ(second.pending, 0);
  EXPECT_EQ(sink_.sent.size(), 3u);
}

TEST_F(OutboxRelayTest, MessageRateLimitBoundsWhatAPassClaims) {
  // One message every 20 s; the claim lasts 80 s, sends may start during its first 40 s: a pass
  // claims two messages and leaves the third to the next pass (or another relay).
  config_.kafka.rate_limit_messages_per_second = 0.05;
  auto r = relay();
  ASSERT_EQ(r.claim_lease(), std::chrono::seconds{80});
  EXPECT_EQ(r.relay_once().delivered, 2);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(r.relay_once().delivered, 1);
  EXPECT_EQ(repo_->pending_count(), 0);
}

TEST_F(OutboxRelayTest, NoDeadLetterSendStartsWhenTooLittleOfTheClaimIsLeft) {
  sink_.answers = {Status::kFatal};
  // The send takes until just past the last instant a send may start (60 - 30 - 10 = 20 s).
  sink_.while_sending = [&] { clock_.advance(std::chrono::seconds{21}); };
  auto r = relay();
  RelayStats stats = r.relay_once();
  EXPECT_EQ(stats.delivered, 2);
  EXPECT_EQ(stats.dead_lettered, 0);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_TRUE(sink_.dead.empty());
  EXPECT_EQ(stats.pending, 1);

  // Released, not held: it is retried after its back-off and dead-lettered then.
  clock_.advance(std::chrono::seconds{1});
  sink_.answers = {Status::kFatal};
  stats = r.relay_once();
  EXPECT_EQ(stats.dead_lettered, 1);
  ASSERT_EQ(sink_.dead.size(), 1u);
  EXPECT_EQ(sink_.dead[0].first.payload, "{\"n\":0}");
  EXPECT_EQ(repo_->find_run(run_id_)->state, RunState::kCompleted);
}

}  // namespace
}  // namespace user_export
