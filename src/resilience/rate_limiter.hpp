#pragma once

#include <mutex>

#include "common/clock.hpp"

namespace user_export {

/// A token bucket (the spec's rate limit for the Kafka producer): tokens refill at
/// `rate_per_second` up to `burst`, and the bucket starts full. acquire(n) takes n tokens,
/// waiting through the injected Sleeper until they have accrued; callers are served in the order
/// they arrive, each reserving its tokens before it waits, so a request larger than the burst
/// still goes through after the proportional wait. A rate of 0 (or below) means unlimited.
///
/// Thread-safe. The clock and sleeper are borrowed and must outlive the limiter.
class RateLimiter {
 public:
  /// `burst` at or below 0 means one second's worth of tokens (at least 1).
  RateLimiter(double rate_per_second, double burst, const Clock& clock, Sleeper& sleeper);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// Takes `n` tokens, sleeping until they are available; returns how long it slept.
  Duration acquire(double n = 1);
  /// Takes `n` tokens only if they are available now; never sleeps.
  bool try_acquire(double n = 1);
  /// Whether the limiter lets everything through at once (rate 0).
  bool unlimited() const { return rate_ <= 0; }

 private:
  /// Adds the tokens accrued since the last refill. Requires mu_ to be held.
  void refill_locked();

  const double rate_;
  const double capacity_;
  const Clock& clock_;
  Sleeper& sleeper_;

  std::mutex mu_;
  double tokens_;  // negative while earlier callers wait for reserved tokens
  std::chrono::steady_clock::time_point last_refill_;
};

}  // namespace user_export
