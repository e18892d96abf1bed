#include "publish/outbox_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/fault_point.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {

namespace {

/// The `slot` field of a message's JSON payload (every run message carries one), or "" when the
/// payload has none; used only to label log lines.
std::string slot_of(const OutboundMessage& m) {
  auto payload = nlohmann::json::parse(m.payload, nullptr, false);
  if (payload.is_object()) {
    auto it = payload.find("slot");
    if (it != payload.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

double state_value(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return 0;
    case CircuitState::kOpen:
      return 1;
    case CircuitState::kHalfOpen:
      return 2;
  }
  return 0;
}

// The longest a sink waits for a send's delivery reports beyond messages.delivery_timeout (the
// Kafka sink waits 5 s more), with room to record the outcome: a send starts only while this
// much plus the delivery timeout is left of the claim.
constexpr Duration kSendSlack = std::chrono::seconds{10};

// The most payload bytes one pass claims (and so holds in memory); a pass always takes at least
// one message. Id-list parts are up to messages.max_message_bytes each, so a million-id group's
// parts are sent a few at a time instead of all at once (docs/ARCHITECTURE.md, "Id-list parts").
constexpr std::size_t kPassBytes = std::size_t{4} << 20;

// Whole seconds, rounded up, of `seconds` (0 for none; at most 10^9, so an absurdly low rate
// limit cannot overflow the lease).
std::chrono::seconds ceil_seconds(double seconds) {
  return std::chrono::seconds{static_cast<std::int64_t>(std::ceil(std::clamp(seconds, 0.0, 1e9)))};
}

}  // namespace

std::chrono::seconds relay_claim_lease(const Config& config) {
  const auto delivery = std::chrono::ceil<std::chrono::seconds>(config.messages.delivery_timeout);
  std::chrono::seconds lease =
      std::max<std::chrono::seconds>(std::chrono::seconds{60}, 2 * delivery);
  const double messages_per_second = config.kafka.rate_limit_messages_per_second;
  const double bytes_per_second = config.kafka.rate_limit_bytes_per_second;
  if (messages_per_second > 0) lease += ceil_seconds(1 / messages_per_second);
  if (bytes_per_second > 0) {
    lease +=
        ceil_seconds(static_cast<double>(config.messages.max_message_bytes) / bytes_per_second);
  }
  return lease;
}

OutboxRelay::OutboxRelay(Outbox& repository, MessageSink& sink, Metrics& metrics, Clock& clock,
                         Sleeper& sleeper, Random& random, const Config& config, OwnerId owner,
                         std::function<bool(const OwnerId& owner)> owner_is_dead)
    : repository_(repository),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      sleeper_(sleeper),
      config_(config),
      owner_(std::move(owner)),
      owner_is_dead_(std::move(owner_is_dead)),
      claim_lease_(relay_claim_lease(config)),
      send_window_(claim_lease_ - config.messages.delivery_timeout - kSendSlack),
      backoff_(config.retry, random),
      breaker_(config.kafka.circuit_failure_threshold, config.kafka.circuit_cool_down, clock,
               [this](CircuitState from, CircuitState to) {
                 metrics_.gauge(meters::kCircuitBreakerState, {{"name", "publish"}})
                     .set(state_value(to));
                 if (to == CircuitState::kOpen) {
                   spdlog::error(
                       "circuit breaker {} -> {}: message sends paused for {} ms after "
                       "repeated failures; check the broker",
                       to_string(from), to_string(to), config_.kafka.circuit_cool_down.count());
                 } else {
                   spdlog::warn("circuit breaker {} -> {}", to_string(from), to_string(to));
                 }
               }),
      message_limiter_(config.kafka.rate_limit_messages_per_second, 0, clock, sleeper),
      byte_limiter_(config.kafka.rate_limit_bytes_per_second, 0, clock, sleeper) {
  metrics_.gauge(meters::kCircuitBreakerState, {{"name", "publish"}}).set(0);
  // Counters start at 0 for the configured topic so rate() and alerts see them before the
  // first delivery (or when every message of a run was dead-lettered).
  metrics_.counter(meters::kMessagesPublished, {{"topic", config.messages.topic}}).inc(0);
}

RelayStats OutboxRelay::relay_once(std::size_t batch) {
  RelayStats stats;
  // The breaker is asked before claiming: an open circuit must not hold messages that another
  // relay, whose sends may work, could deliver.
  std::vector<OutboundMessage> messages;
  if (!breaker_.allow()) {
    stats.circuit_open = true;
  } else {
    const double messages_per_second = config_.kafka.rate_limit_messages_per_second;
    if (messages_per_second > 0) {
      // No more than the message rate limit lets this pass send before its sends must stop.
      const double fits = messages_per_second * std::chrono::duration<double>(send_window_).count();
      batch = std::min(batch, static_cast<std::size_t>(std::max(fits, 1.0)));
    }
    if (owner_is_dead_) {
      const std::int64_t released = repository_.release_message_claims(owner_is_dead_);
      if (released > 0) {
        log::info("released the outbox claims of relays that are no longer running",
                  {{"messages", released}});
      }
    }
    const SystemTime claimed_at = clock_.now();
    messages = repository_.claim_messages(batch, owner_, claim_lease_, kPassBytes);
    send_deadline_ = claimed_at + std::chrono::duration_cast<SystemTime::duration>(send_window_);
  }
  if (!messages.empty()) {
    std::size_t paced = 0;
    for (const auto& m : messages) {
      message_limiter_.acquire(1);
      byte_limiter_.acquire(static_cast<double>(m.payload.size()));
      if (!may_start_send()) break;
      ++paced;
    }
    if (paced < messages.size()) {
      log::warn(
          "the rate limits held back claimed messages until too little of the claim was left to "
          "send them; they are sent once the claim has run out",
          {{"sent", paced},
           {"held_back", messages.size() - paced},
           {"claim_lease_seconds", claim_lease_.count()}});
      messages.resize(paced);
    }
  }
  if (!messages.empty()) {
    std::vector<DeliveryResult> results = sink_.publish(messages);
    fault_point("after_publish");
    bool any_delivered = false;
    bool any_retriable = false;
    for (const auto& r : results) {
      any_delivered |= r.status == DeliveryResult::Status::kDelivered;
      any_retriable |= r.status == DeliveryResult::Status::kRetriable;
    }
    if (any_retriable && !any_delivered) {
      breaker_.record_failure();
    } else {
      breaker_.record_success();
    }
    std::vector<const OutboundMessage*> delivered;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const OutboundMessage& m = messages[i];
      const DeliveryResult& r = i < results.size()
                                    ? results[i]
                                    : DeliveryResult{DeliveryResult::Status::kRetriable,
                                                     "NO_RESULT", "the sink returned no result"};
      switch (r.status) {
        case DeliveryResult::Status::kDelivered:
          delivered.push_back(&m);
          break;
        case DeliveryResult::Status::kFatal:
          dead_letter(m, r, stats);
          break;
        case DeliveryResult::Status::kRetriable:
          retry_later(m, r.error_code + ": " + r.error, stats);
          break;
      }
    }
    // The delivered messages are recorded together: one transaction for a pass instead of one
    // per message (a thousand small groups' messages took two seconds one by one).
    std::vector<std::int64_t> delivered_ids;
    for (const OutboundMessage* m : delivered) delivered_ids.push_back(m->outbox_id);
    repository_.mark_all_published(delivered_ids);
    for (const OutboundMessage* m : delivered) {
      metrics_.counter(meters::kMessagesPublished, {{"topic", m->topic}}).inc();
      ++stats.delivered;
    }
  }
  stats.pending = repository_.pending_count();
  metrics_.gauge(meters::kOutboxPending).set(static_cast<double>(stats.pending));
  return stats;
}

bool OutboxRelay::may_start_send() const {
  return clock_.now() <= send_deadline_;
}

void OutboxRelay::dead_letter(const OutboundMessage& m, const DeliveryResult& why,
                              RelayStats& stats) {
  if (!may_start_send()) {
    retry_later(m,
                "not deliverable (" + why.error_code + ": " + why.error +
                    "), and too little of the relay's claim was left to send it to the "
                    "dead-letter topic",
                stats);
    return;
  }
  DeadLetter reason{m.topic, why.error_code, why.error, m.attempts + 1};
  DeliveryResult dlq = sink_.publish_dead_letter(m, reason);
  if (dlq.status != DeliveryResult::Status::kDelivered) {
    retry_later(m,
                "not deliverable (" + why.error_code + ": " + why.error +
                    ") and the dead-letter send failed too (" + dlq.error_code + ": " + dlq.error +
                    ")",
                stats);
    return;
  }
  repository_.mark_dead_lettered(m.outbox_id, why.error_code + ": " + why.error);
  metrics_.counter(meters::kExportToDlq, {{"key", m.key}, {"topic", config_.messages.dlq_topic}})
      .inc();
  log::error("message dead-lettered; inspect the dead-letter topic and re-publish once fixed",
             {{"run_id", m.run_id},
              {"group_id", m.key},
              {"slot", slot_of(m)},
              {"topic", m.topic},
              {"dlq", config_.messages.dlq_topic},
              {"error_code", why.error_code},
              {"error", why.error}});
  ++stats.dead_lettered;
}

void OutboxRelay::retry_later(const OutboundMessage& m, const std::string& error,
                              RelayStats& stats) {
  Duration delay = backoff_.delay(m.attempts + 1);
  repository_.record_publish_failure(
      m.outbox_id, error, clock_.now() + std::chrono::duration_cast<SystemTime::duration>(delay));
  metrics_.counter(meters::kPublishFailures, {{"topic", m.topic}}).inc();
  log::warn("message not delivered, will retry",
            {{"run_id", m.run_id},
             {"group_id", m.key},
             {"slot", slot_of(m)},
             {"topic", m.topic},
             {"attempt", m.attempts + 1},
             {"retry_in_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()},
             {"error", error}});
  ++stats.failed;
}

RelayStats OutboxRelay::drain(Duration max_wait, const std::atomic<bool>* stop) {
  RelayStats total;
  const auto deadline = clock_.monotonic() + max_wait;
  for (int idle_passes = 0;;) {
    if (stop != nullptr && stop->load()) {
      total.pending = repository_.pending_count();
      break;
    }
    RelayStats pass = relay_once();
    total.delivered += pass.delivered;
    total.dead_lettered += pass.dead_lettered;
    total.failed += pass.failed;
    total.pending = pass.pending;
    if (pass.pending == 0) break;
    if (pass.delivered + pass.dead_lettered > 0) {
      idle_passes = 0;
      continue;
    }
    auto now = clock_.monotonic();
    if (now >= deadline) break;
    ++idle_passes;
    Duration wait = std::min<Duration>(backoff_.delay(std::min(idle_passes, 8)), deadline - now);
    sleeper_.sleep_for(wait);
  }
  return total;
}

}  // namespace user_export
