#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "observe/metrics.hpp"
#include "publish/message_sink.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/rate_limiter.hpp"
#include "resilience/retry.hpp"
#include "source/repository.hpp"

namespace user_export {

/// What one relay pass (or a drain) did.
struct RelayStats {
  std::int64_t delivered = 0;
  std::int64_t dead_lettered = 0;
  std::int64_t failed = 0;    ///< retriable failures left pending for a later attempt
  std::int64_t pending = 0;   ///< outbox messages still pending afterwards
  bool circuit_open = false;  ///< the pass sent nothing because the circuit breaker is open
};

/// Step 5 of the run: publishes outbox messages through a MessageSink and records each outcome
/// in the repository. Delivered -> published; fatal -> sent to the dead-letter topic with the
/// reason and marked dead-lettered (if the DLQ send fails too, it stays pending); retriable ->
/// stays pending, retried after an exponential back-off. A message is marked only after the
/// sink confirmed it, so a crash in between re-sends it (at-least-once, same runId).
/// Sends go through a circuit breaker (opens after kafka.circuit_failure_threshold consecutive
/// failed passes, probes again after kafka.circuit_cool_down; state in the metric
/// `users_export_circuit_breaker_state`) and token-bucket rate limits in messages/s and bytes/s
/// (kafka.rate_limit_*), so the export cannot outpace the downstream consumer.
/// Thread-compatible: run one relay loop per process.
class OutboxRelay {
 public:
  OutboxRelay(Repository& repository, MessageSink& sink, Metrics& metrics, Clock& clock,
              Sleeper& sleeper, Random& random, const Config& config);

  /// One pass over up to `batch` due messages.
  RelayStats relay_once(std::size_t batch = 500);

  /// Passes until the outbox is empty or `max_wait` has passed without it emptying, sleeping
  /// between passes that made no progress. Returns the totals and what is left pending.
  RelayStats drain(Duration max_wait);

  /// The breaker around sends (exposed for tests and the admin API).
  const CircuitBreaker& breaker() const { return breaker_; }

 private:
  void dead_letter(const OutboundMessage& message, const DeliveryResult& why, RelayStats& stats);
  void retry_later(const OutboundMessage& message, const std::string& error, RelayStats& stats);

  Repository& repository_;
  MessageSink& sink_;
  Metrics& metrics_;
  Clock& clock_;
  Sleeper& sleeper_;
  const Config& config_;
  Backoff backoff_;
  CircuitBreaker breaker_;
  RateLimiter message_limiter_;
  RateLimiter byte_limiter_;
};

}  // namespace user_export
