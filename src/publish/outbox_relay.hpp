#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "observe/metrics.hpp"
#include "publish/message_sink.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/rate_limiter.hpp"
#include "resilience/retry.hpp"
#include "source/lease_rule.hpp"
#include "source/outbox.hpp"

namespace user_export {

/// What one relay pass (or a drain) did.
struct RelayStats {
  std::int64_t delivered = 0;
  std::int64_t dead_lettered = 0;
  std::int64_t failed = 0;    ///< retriable failures left pending for a later attempt
  std::int64_t pending = 0;   ///< outbox messages still pending afterwards
  bool circuit_open = false;  ///< the pass sent nothing because the circuit breaker is open
};

/// How long a relay's claim on the messages of one pass lasts: max(60 s, 2 ×
/// messages.delivery_timeout), plus the longest the rate limits can make the first message of
/// a pass wait (one message at kafka.rate_limit_messages_per_second, one message of
/// messages.max_message_bytes at kafka.rate_limit_bytes_per_second), rounded up to whole
/// seconds. A relay starts a send only while delivery_timeout + 10 s of its claim are left, so
/// twice the delivery timeout leaves at least 20 s for the rate limits to pace a pass.
std::chrono::seconds relay_claim_lease(const Config& config);

/// Step 5 of the run: publishes outbox messages through a MessageSink and records each outcome
/// in the repository. Delivered -> published; fatal -> sent to the dead-letter topic with the
/// reason and marked dead-lettered (if the DLQ send fails too, it stays pending); retriable ->
/// stays pending, retried after an exponential back-off. A message is marked only after the
/// sink confirmed it, so a crash in between re-sends it (at-least-once, same runId).
/// Several relays (instances, or a one-shot `relay` beside `run`) may share one outbox: each
/// pass claims its messages for the relay's owner name for relay_claim_lease(), so no two
/// relays send one message at the same time; no send starts once less than delivery_timeout
/// + 10 s of the claim is left (what was claimed but not sent then is sent after the claim
/// ends). A relay that dies holding a claim delays its messages until the claim runs out (at
/// once when it was a process of this host); then any relay sends them.
/// Sends go through a circuit breaker (opens after kafka.circuit_failure_threshold consecutive
/// failed passes, probes again after kafka.circuit_cool_down; state in the metric
/// `users_export_circuit_breaker_state`) and token-bucket rate limits in messages/s and bytes/s
/// (kafka.rate_limit_*), so the export cannot outpace the downstream consumer. A pass asks the
/// breaker before it claims, so an open circuit holds no claim other relays could use.
/// Thread-compatible: run one relay loop per process.
class OutboxRelay {
 public:
  /// `owner` names this relay in its claims: the process's lease-owner name
  /// (export.instance_id), distinct for every process sharing the database. Before it claims,
  /// each pass releases the claims of owners that `owner_is_dead` says are dead (by default a
  /// crashed process of this host), so a restart after a crash need not wait for them.
  OutboxRelay(Outbox& repository, MessageSink& sink, Metrics& metrics, Clock& clock,
              Sleeper& sleeper, Random& random, const Config& config, OwnerId owner,
              std::function<bool(const OwnerId& owner)> owner_is_dead = local_owner_id_is_dead);

  /// One pass over up to `batch` due messages that no other relay has claimed (fewer when the
  /// message rate limit could not pace `batch` within the claim).
  RelayStats relay_once(std::size_t batch = 500);

  /// Passes until the outbox is empty or `max_wait` has passed without it emptying, sleeping
  /// between passes that made no progress; stops before the next pass once `stop` (optional)
  /// reads true. Returns the totals and what is left pending.
  RelayStats drain(Duration max_wait, const std::atomic<bool>* stop = nullptr);

  /// The breaker around sends (exposed for tests and the admin API).
  const CircuitBreaker& breaker() const { return breaker_; }
  /// The name this relay claims messages under.
  const OwnerId& owner() const { return owner_; }
  /// How long each pass's claim lasts (relay_claim_lease of the configuration).
  std::chrono::seconds claim_lease() const { return claim_lease_; }

 private:
  /// Whether enough of this pass's claim is left to start a send (see send_window_).
  bool may_start_send() const;
  void dead_letter(const OutboundMessage& message, const DeliveryResult& why, RelayStats& stats);
  void retry_later(const OutboundMessage& message, const std::string& error, RelayStats& stats);

  Outbox& repository_;
  MessageSink& sink_;
  Metrics& metrics_;
  Clock& clock_;
  Sleeper& sleeper_;
  const Config& config_;
  const OwnerId owner_;
  const std::function<bool(const OwnerId& owner)> owner_is_dead_;
  const std::chrono::seconds claim_lease_;
  /// How long after claiming a send may still start: the claim less delivery_timeout + 10 s.
  const Duration send_window_;
  SystemTime send_deadline_{};  ///< of the current pass: the last instant a send may start
  Backoff backoff_;
  CircuitBreaker breaker_;
  RateLimiter message_limiter_;
  RateLimiter byte_limiter_;
};

}  // namespace user_export
