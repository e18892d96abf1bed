#pragma once

#include <functional>
#include <mutex>

#include "common/clock.hpp"

namespace user_export {

/// The three states of a circuit breaker.
enum class CircuitState {
  kClosed,    ///< calls pass; consecutive failures are counted
  kOpen,      ///< calls are refused until the cool-down has passed
  kHalfOpen,  ///< one probe call is let through; its outcome closes or re-opens the circuit
};

/// `closed`, `open`, `half_open` (for logs and metric labels).
const char* to_string(CircuitState state);

/// A circuit breaker around a remote dependency (the spec's suggested Resilience4j breaker):
/// after `failure_threshold` consecutive failures it opens and refuses calls; once `cool_down`
/// has passed on the injected clock's monotonic time, allow() lets one probe through
/// (half-open); the probe's success closes the circuit, its failure opens it for another
/// cool-down. A probe whose outcome is never recorded is replaced by another one after a further
/// cool-down, so a lost result cannot wedge the breaker. Outcomes recorded while open (calls that
/// started before it opened) are ignored.
///
/// Thread-safe. The state-change callback runs on the thread that caused the change, with the
/// breaker's lock held so that changes are reported in order: it must be quick and must not call
/// back into this breaker.
class CircuitBreaker {
 public:
  /// Called on every state change with the old and the new state.
  using OnStateChange = std::function<void(CircuitState from, CircuitState to)>;

  /// `failure_threshold` below 1 counts as 1. Borrows `clock`, which must outlive the breaker.
  CircuitBreaker(int failure_threshold, Duration cool_down, const Clock& clock,
                 OnStateChange on_state_change = {});
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  /// Whether a call may be made now. When it returns true the caller must report the call's
  /// outcome with record_success() or record_failure().
  bool allow();
  /// Reports a successful call: resets the failure count; closes a half-open circuit.
  void record_success();
  /// Reports a failed call: opens a closed circuit at the threshold; re-opens a half-open one.
  void record_failure();
  /// The current state (open stays open until allow() is called after the cool-down).
  CircuitState state() const;
  /// Consecutive failures counted while closed.
  int consecutive_failures() const;

 private:
  /// Moves to `to` and reports the change. Requires mu_ to be held.
  void transition_locked(CircuitState to);

  const int failure_threshold_;
  const Duration cool_down_;
  const Clock& clock_;
  const OnStateChange on_state_change_;

  mutable std::mutex mu_;
  CircuitState state_ = CircuitState::kClosed;
  int failures_ = 0;
  std::chrono::steady_clock::time_point opened_at_{};         // when it last opened
  std::chrono::steady_clock::time_point probe_started_at_{};  // when the half-open probe began
};

}  // namespace user_export
