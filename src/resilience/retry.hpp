#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace user_export {

/// Exponential back-off with jitter (the spec's RetryTemplate): delay n (1-based) is
/// initial * multiplier^(n-1), capped at max, then scaled by a random factor in
/// [1 - jitter, 1 + jitter]. A multiplier below 1 counts as 1, a jitter outside [0, 1] is clamped.
/// Thread-safe when `random` is; `random` must outlive the Backoff.
class Backoff {
 public:
  /// Copies `config`; draws jitter from `random` (not owned).
  Backoff(const RetryConfig& config, Random& random);
  /// The delay to wait after failed attempt number `attempt` (1-based; below 1 counts as 1).
  Duration delay(int attempt);

 private:
  RetryConfig config_;
  Random& random_;
};

/// Runs an operation up to `max_attempts` times. Only exceptions of type Error with
/// retriable() == true are retried; any other error ends at once and propagates. The last error
/// propagates after the final attempt. `on_retry(attempt, error, delay)` is called before each
/// wait (for logs and the retries metric). Waiting goes through the injected Sleeper.
/// `max_attempts` below 1 counts as 1. Thread-safe when the sleeper and random source are; both
/// are borrowed and must outlive the Retry.
class Retry {
 public:
  /// Called before each wait with the failed attempt (1-based), its error and the delay.
  using OnRetry = std::function<void(int attempt, const std::exception& error, Duration delay)>;
  /// Copies `config`; borrows `sleeper` and `random`.
  Retry(const RetryConfig& config, Sleeper& sleeper, Random& random);

  /// Runs `op(attempt)` (attempt is 1-based) until it returns or the attempts are used up.
  template <typename Op>
  auto run(Op&& op, const OnRetry& on_retry = {}) -> decltype(op(1));

 private:
  /// Decides whether error `e` after `attempt` should be retried; sleeps if so.
  bool should_retry(int attempt, const std::exception& e, const OnRetry& on_retry);
  RetryConfig config_;
  Sleeper& sleeper_;
  Backoff backoff_;
};

template <typename Op>
auto Retry::run(Op&& op, const OnRetry& on_retry) -> decltype(op(1)) {
  for (int attempt = 1;; ++attempt) {
    try {
      return op(attempt);
    } catch (const std::exception& e) {
      if (!should_retry(attempt, e, on_retry)) throw;
    }
  }
}

}  // namespace user_export
