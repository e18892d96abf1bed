#include "resilience/retry.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace user_export {

Backoff::Backoff(const RetryConfig& config, Random& random) : config_(config), random_(random) {}

Duration Backoff::delay(int attempt) {
  using Nanos = std::chrono::duration<double, std::nano>;
  const double initial = std::max(0.0, Nanos(config_.initial_backoff).count());
  const double cap = std::max(0.0, Nanos(config_.max_backoff).count());
  const double multiplier = std::max(1.0, config_.multiplier);
  const int exponent = std::max(attempt, 1) - 1;
  // pow overflows to +inf for huge exponents, which the cap then clips.
  double base = std::min(initial * std::pow(multiplier, exponent), cap);
  const double jitter = std::clamp(config_.jitter, 0.0, 1.0);
  if (jitter > 0) base *= 1.0 - jitter + 2.0 * jitter * random_.uniform01();
  return Duration(static_cast<Duration::rep>(std::llround(base)));
}

Retry::Retry(const RetryConfig& config, Sleeper& sleeper, Random& random)
    : config_(config), sleeper_(sleeper), backoff_(config, random) {}

bool Retry::should_retry(int attempt, const std::exception& e, const OnRetry& on_retry) {
  const auto* error = dynamic_cast<const Error*>(&e);
  if (error == nullptr || !error->retriable()) return false;
  if (attempt >= std::max(config_.max_attempts, 1)) return false;
  const Duration wait = backoff_.delay(attempt);
  if (on_retry) on_retry(attempt, e, wait);
  sleeper_.sleep_for(wait);
  return true;
}

}  // namespace user_export
