#include "publish/outbox_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/fault_point.hpp"

namespace user_export {

OutboxRelay::OutboxRelay(Repository& repository, MessageSink& sink, Metrics& metrics, Clock& clock,
                         Random& random, const Config& config)
    : repository_(repository),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      config_(config),
      backoff_(config.retry, random) {}

RelayStats OutboxRelay::relay_once(std::size_t batch) {
  RelayStats stats;
  std::vector<OutboundMessage> messages = repository_.pending_messages(batch);
  if (!messages.empty()) {
    std::vector<DeliveryResult> results = sink_.publish(messages);
    fault_point("after_publish");
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const OutboundMessage& m = messages[i];
      const DeliveryResult& r = i < results.size()
                                    ? results[i]
                                    : DeliveryResult{DeliveryResult::Status::kRetriable,
                                                     "NO_RESULT", "the sink returned no result"};
      switch (r.status) {
        case DeliveryResult::Status::kDelivered:
          repository_.mark_published(m.outbox_id);
          metrics_
              .counter("users_export_messages_published_total", "Messages delivered to the broker",
                       {{"topic", m.topic}})
              .inc();
          ++stats.delivered;
          break;
        case DeliveryResult::Status::kFatal:
          dead_letter(m, r, stats);
          break;
        case DeliveryResult::Status::kRetriable:
          retry_later(m, r.error_code + ": " + r.error, stats);
          break;
      }
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
  spdlog::error(
      "message dead-lettered run={} group={} topic={} dlq={} error={} reason=\"{}\"; "
      "inspect the dead-letter topic and re-publish once fixed",
      m.run_id, m.key, m.topic, config_.messages.dlq_topic, why.error_code, why.error);
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
  spdlog::warn(
      "message not delivered, will retry run={} group={} topic={} attempt={} "
      "retry_in_ms={} error=\"{}\"",
      m.run_id, m.key, m.topic, m.attempts + 1,
      std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(), error);
  ++stats.failed;
}

RelayStats OutboxRelay::drain(Sleeper& sleeper, Duration max_wait) {
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
    sleeper.sleep_for(wait);
  }
  return total;
}

}  // namespace user_export
