#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace user_export {

/// Reads the downstream consumer group's lag in messages; throws Error when it cannot.
using LagProbe = std::function<std::int64_t()>;

/// Decides whether the scheduler holds a slot: paused by hand (admin API), or the consumer lag
/// above the threshold. The gauge `users_export_scheduler_paused` is 1 while slots are held and
/// each change is logged. A probe that fails does not hold (the export goes on, a warning is
/// logged): back-pressure must not turn a monitoring outage into an export outage. Thread-safe.
class Backpressure {
 public:
  /// `max_lag` <= 0 or an empty `probe` disables the lag check (only pause() holds).
  Backpressure(Metrics& metrics, std::int64_t max_lag, LagProbe probe);

  /// Holds slots until resume() (admin API).
  void pause();
  /// Ends a pause by hand (a lag above the threshold still holds).
  void resume();
  /// Whether pause() is in effect.
  bool paused_by_hand() const;
  /// Whether a slot must be held now; reads the lag when enabled. Updates the gauge.
  bool should_hold();
  /// Marks the hold as over (the slot runs): the gauge goes back to 0 unless paused by hand.
  void release();

 private:
  /// Sets the gauge; logs a change with `why` as `reason` and `fields` (lag, max_lag).
  void set_held(bool held, const char* why, log::Fields fields = {});

  Gauge& paused_gauge_;
  const std::int64_t max_lag_;
  LagProbe probe_;
  std::atomic<bool> by_hand_{false};
  std::mutex mu_;  // serialises probes and the held_ transitions
  bool held_ = false;
};

}  // namespace user_export
