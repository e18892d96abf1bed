#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "domain/run.hpp"
#include "schedule/cron/cron_schedule.hpp"

namespace user_export {

/// Why a slot is run.
enum class FiringKind {
  kSlot,     ///< the cron expression fired
  kMissed,   ///< at start-up: the last slot, missed while down, still within the grace period
  kSweep,    ///< the last fired slot again, to take over runs of instances that died
  kTrigger,  ///< POST /api/trigger: run now
};

/// `slot`, `missed`, `sweep`, `trigger` (logs and metric labels).
const char* to_string(FiringKind kind);

/// One thing for the daemon to run: every active group (or only `group`) for `slot`.
struct Firing {
  FiringKind kind = FiringKind::kSlot;  ///< why it runs
  Slot slot{};                          ///< the slot (the idempotency key of the runs)
  std::optional<std::string> group;     ///< only this group id (triggers); empty = all groups
};

/// Tunables of the scheduler.
struct SchedulerOptions {
  std::chrono::seconds missed_slot_grace{3600};  ///< a slot missed by at most this still runs
  std::chrono::seconds sweep_interval{150};      ///< re-run the last slot this often; 0 = never
  Duration max_wait = std::chrono::seconds(1);   ///< longest single wait (wall-clock jumps)
};

/// Decides when slots fire: the cron slots in order (slots passed while the daemon was busy are
/// coalesced into the latest one), the missed slot at start-up, periodic sweeps of the last
/// fired slot, and triggers. Time comes from the injected Clock; waits use a condition variable
/// so trigger(), wake() and stop() end them at once. Thread-safe.
class Scheduler {
 public:
  /// Starts counting from the first poll()/wait_next().
  Scheduler(CronSchedule cron, Clock& clock, SchedulerOptions options);

  /// What is due at clock.now(), without waiting (a trigger first, then the missed slot on the
  /// first call, then a cron slot, then a sweep); nullopt when nothing is due.
  std::optional<Firing> poll();
  /// Blocks until something is due and returns it; nullopt once stop() was called.
  std::optional<Firing> wait_next();
  /// Waits at most `d` or until wake()/stop(); returns false once stopped.
  bool wait_for(Duration d);
  /// Queues an immediate run of all groups (or one) for the current second as its slot.
  void trigger(std::optional<std::string> group);
  /// Removes and returns the oldest pending trigger (so triggers run while slots are held).
  std::optional<Firing> take_trigger();
  /// Ends current and future waits (wait_next() returns nullopt).
  void stop();
  /// Wakes the waiters so they re-check (e.g. after a resume).
  void wake();
  /// Whether stop() was called.
  bool stopped() const;
  /// The next cron slot not yet fired (nullopt before the first poll or when there is none).
  std::optional<SystemTime> next_slot() const;

 private:
  std::optional<Firing> poll_locked();
  SystemTime next_due_locked() const;

  const CronSchedule cron_;
  Clock& clock_;
  const SchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopped_ = false;
  std::optional<SystemTime> next_slot_;
  std::optional<Slot> last_fired_;
  SystemTime next_sweep_{};
  std::deque<Firing> triggers_;
};

}  // namespace user_export
