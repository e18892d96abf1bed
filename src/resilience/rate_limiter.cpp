#include "resilience/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace user_export {

RateLimiter::RateLimiter(double rate_per_second, double burst, const Clock& clock, Sleeper& sleeper)
    : rate_(std::isfinite(rate_per_second) ? rate_per_second : 0),
      capacity_(burst > 0 ? burst : std::max(rate_, 1.0)),
      clock_(clock),
      sleeper_(sleeper),
      tokens_(capacity_),
      last_refill_(clock.monotonic()) {}

void RateLimiter::refill_locked() {
  const auto now = clock_.monotonic();
  if (now <= last_refill_) return;
  const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
  tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
  last_refill_ = now;
}

Duration RateLimiter::acquire(double n) {
  if (unlimited() || !(n > 0)) return Duration::zero();
  Duration wait = Duration::zero();
  {
    std::lock_guard lock(mu_);
    refill_locked();
    tokens_ -= n;
    if (tokens_ < 0) {
      const double seconds = -tokens_ / rate_;
      wait = Duration(static_cast<Duration::rep>(std::llround(seconds * 1e9)));
    }
  }
  // The tokens are reserved; sleep without the lock so later callers can queue behind us.
  if (wait > Duration::zero()) sleeper_.sleep_for(wait);
  return wait;
}

bool RateLimiter::try_acquire(double n) {
  if (unlimited() || !(n > 0)) return true;
  std::lock_guard lock(mu_);
  refill_locked();
  if (tokens_ < n) return false;
  tokens_ -= n;
  return true;
}

}  // namespace user_export
