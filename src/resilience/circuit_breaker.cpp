#include "resilience/circuit_breaker.hpp"

#include <algorithm>

namespace user_export {

const char* to_string(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kOpen:
      return "open";
    case CircuitState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(int failure_threshold, Duration cool_down, const Clock& clock,
                               OnStateChange on_state_change)
    : failure_threshold_(std::max(failure_threshold, 1)),
      cool_down_(std::max(cool_down, Duration::zero())),
      clock_(clock),
      on_state_change_(std::move(on_state_change)) {}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mu_);
  const auto now = clock_.monotonic();
  switch (state_) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      if (now - opened_at_ < cool_down_) return false;
      transition_locked(CircuitState::kHalfOpen);
      probe_started_at_ = now;
      return true;
    case CircuitState::kHalfOpen:
      // One probe at a time; a probe that never reported back is replaced after a cool-down.
      if (now - probe_started_at_ < cool_down_) return false;
      probe_started_at_ = now;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case CircuitState::kClosed:
      failures_ = 0;
      break;
    case CircuitState::kHalfOpen:
      failures_ = 0;
      transition_locked(CircuitState::kClosed);
      break;
    case CircuitState::kOpen:
      break;  // a call from before the circuit opened
  }
}

void CircuitBreaker::record_failure() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case CircuitState::kClosed:
      if (++failures_ >= failure_threshold_) {
        opened_at_ = clock_.monotonic();
        transition_locked(CircuitState::kOpen);
      }
      break;
    case CircuitState::kHalfOpen:
      opened_at_ = clock_.monotonic();
      transition_locked(CircuitState::kOpen);
      break;
    case CircuitState::kOpen:
      break;  // a call from before the circuit opened
  }
}

CircuitState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void CircuitBreaker::transition_locked(CircuitState to) {
  const CircuitState from = state_;
  state_ = to;
  if (to != CircuitState::kClosed) failures_ = 0;
  if (on_state_change_ && from != to) on_state_change_(from, to);
}

}  // namespace user_export
