#include "publish/outbox_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/fault_point.hpp"
#include "observe/log.hpp"

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

}  // namespace

OutboxRelay::OutboxRelay(Repository& repository, MessageSink& sink, Metrics& metrics, Clock& clock,
                         Sleeper& sleeper, Random& random, const Config& config)
    : repository_(repository),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      sleeper_(sleeper),
      config_(config),
      backoff_(config.retry, random),
      breaker_(config.kafka.circuit_failure_threshold, config.kafka.circuit_cool_down, clock,
               [this](CircuitState from, CircuitState to) {
                 metrics_
                     .gauge("users_export_circuit_breaker_state",
                            "Circuit breaker around message sends: 0 closed, 1 open, 2 half-open",
                            {{"name", "publish"}})
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
  metrics_
      .gauge("users_export_circuit_breaker_state",
             "Circuit breaker around message sends: 0 closed, 1 open, 2 half-open",
             {{"name", "publish"}})
      .set(0);
  // Counters start at 0 for the configured topic so rate() and alerts see them before the
  // first delivery (or when every message of a run was dead-lettered).
  metrics_
      .counter("users_export_messages_published_total", "Messages delivered to the broker",
               {{"topic", config.messages.topic}})
      .inc(0);
}

RelayStats OutboxRelay::relay_once(std::size_t batch) {
  RelayStats stats;
  std::vector<OutboundMessage> messages = repository_.pending_messages(batch);
  if (!messages.empty() && !breaker_.allow()) {
    stats.circuit_open = true;
    messages.clear();
  }
  if (!messages.empty()) {
    for (const auto& m : messages) {
      message_limiter_.acquire(1);
      byte_limiter_.acquire(static_cast<double>(m.payload.size()));
    }
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
      metrics_
          .counter("users_export_messages_published_total", "Messages delivered to the broker",
                   {{"topic", m->topic}})
          .inc();
      ++stats.delivered;
    }
  }
  stats.pending = repository_.pending_count();
  metrics_.gauge("users_export_outbox_pending", "Outbox messages not yet delivered")
      .set(static_cast<double>(stats.pending));
  return stats;
}

void OutboxRelay::dead_letter(const OutboundMessage& m, const DeliveryResult& why,
                              RelayStats& stats) {
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
  metrics_
      .counter("export_to_dlq_total", "Messages sent to the dead-letter topic",
               {{"key", m.key}, {"topic", config_.messages.dlq_topic}})
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
  metrics_
      .counter("users_export_publish_failures_total", "Retriable delivery failures",
               {{"topic", m.topic}})
      .inc();
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

RelayStats OutboxRelay::drain(Duration max_wait) {
  RelayStats total;
  const auto deadline = clock_.monotonic() + max_wait;
  for (int idle_passes = 0;;) {
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
