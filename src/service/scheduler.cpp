#include "service/scheduler.hpp"

#include <algorithm>

namespace user_export {
namespace {

/// Bounds the walks over fire times (an every-second cron over a long grace period).
constexpr int kMaxSteps = 1'000'000;

Slot to_slot(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

}  // namespace

const char* to_string(FiringKind kind) {
  switch (kind) {
    case FiringKind::kSlot:
      return "slot";
    case FiringKind::kMissed:
      return "missed";
    case FiringKind::kSweep:
      return "sweep";
    case FiringKind::kTrigger:
      return "trigger";
  }
  return "slot";
}

Scheduler::Scheduler(CronSchedule cron, Clock& clock, SchedulerOptions options)
    : cron_(std::move(cron)), clock_(clock), options_(options) {}

std::optional<Firing> Scheduler::poll() {
  std::lock_guard lock(mu_);
  return poll_locked();
}

std::optional<Firing> Scheduler::poll_locked() {
  if (!triggers_.empty()) {
    Firing f = triggers_.front();
    triggers_.pop_front();
    return f;
  }
  const SystemTime now = clock_.now();
  auto fired = [&](FiringKind kind, SystemTime at) {
    last_fired_ = to_slot(at);
    next_sweep_ = now + options_.sweep_interval;
    return Firing{kind, *last_fired_, std::nullopt};
  };
  if (!started_) {
    started_ = true;
    next_slot_ = cron_.next_after(now);
    // The latest fire time in [now - grace, now]: the slot missed while the service was down.
    std::optional<SystemTime> missed;
    auto t = cron_.next_after(now - options_.missed_slot_grace - std::chrono::seconds(1));
    for (int i = 0; t && *t <= now && i < kMaxSteps; ++i) {
      missed = t;
      t = cron_.next_after(*t);
    }
    if (missed) return fired(FiringKind::kMissed, *missed);
  }
  if (next_slot_ && *next_slot_ <= now) {
    SystemTime slot = *next_slot_;
    auto t = cron_.next_after(slot);
    for (int i = 0; t && *t <= now && i < kMaxSteps; ++i) {  // coalesce slots passed while busy
      slot = *t;
      t = cron_.next_after(slot);
    }
    next_slot_ = t;
    return fired(FiringKind::kSlot, slot);
  }
  if (last_fired_ && options_.sweep_interval.count() > 0 && next_sweep_ <= now) {
    next_sweep_ = now + options_.sweep_interval;
    return Firing{FiringKind::kSweep, *last_fired_, std::nullopt};
  }
  return std::nullopt;
}

SystemTime Scheduler::next_due_locked() const {
  SystemTime due = SystemTime::max();
  if (next_slot_) due = *next_slot_;
  if (last_fired_ && options_.sweep_interval.count() > 0) due = std::min(due, next_sweep_);
  return due;
}

std::optional<Firing> Scheduler::wait_next() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (auto f = poll_locked()) return f;
    const SystemTime due = next_due_locked();
    const SystemTime now = clock_.now();
    Duration wait = options_.max_wait;
    if (due != SystemTime::max() && due > now) {
      wait = std::min<Duration>(wait, due - now);
    }
    cv_.wait_for(lock, std::max<Duration>(wait, std::chrono::milliseconds(1)));
  }
  return std::nullopt;
}

bool Scheduler::wait_for(Duration d) {
  std::unique_lock lock(mu_);
  if (stopped_) return false;
  cv_.wait_for(lock, d);
  return !stopped_;
}

void Scheduler::trigger(std::optional<std::string> group) {
  {
    std::lock_guard lock(mu_);
    triggers_.push_back(Firing{FiringKind::kTrigger, to_slot(clock_.now()), std::move(group)});
  }
  cv_.notify_all();
}

std::optional<Firing> Scheduler::take_trigger() {
  std::lock_guard lock(mu_);
  if (triggers_.empty()) return std::nullopt;
  Firing f = triggers_.front();
  triggers_.pop_front();
  return f;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

void Scheduler::wake() {
  cv_.notify_all();
}

bool Scheduler::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

std::optional<SystemTime> Scheduler::next_slot() const {
  std::lock_guard lock(mu_);
  return next_slot_;
}

}  // namespace user_export
