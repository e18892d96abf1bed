#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "common/clock.hpp"

namespace user_export::testing {

/// A clock and sleeper for tests: time moves only when a test (or a sleep) advances it, and
/// every sleep is recorded. Thread-safe.
class FakeClock final : public Clock, public Sleeper {
 public:
  explicit FakeClock(SystemTime start = SystemTime{std::chrono::seconds{1'767'225'600}})
      : now_(start) {}

  SystemTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    std::lock_guard lock(mu_);
    const auto reading = now_.time_since_epoch() + monotonic_offset_;
    monotonic_offset_ += monotonic_step_;
    return std::chrono::steady_clock::time_point{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(reading)};
  }
  /// Makes every monotonic() reading move the monotonic clock on by `step` afterwards (0, the
  /// default, leaves it still), so code that times spans measures how many readings it took.
  void set_monotonic_step(Duration step) {
    std::lock_guard lock(mu_);
    monotonic_step_ = std::chrono::duration_cast<SystemTime::duration>(step);
  }
  void sleep_for(Duration d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
    now_ += std::chrono::duration_cast<SystemTime::duration>(d);
  }
  /// Moves time forward by `d`.
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<SystemTime::duration>(d);
  }
  /// Every duration passed to sleep_for, in order.
  std::vector<Duration> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  SystemTime now_;
  mutable SystemTime::duration monotonic_offset_{0};
  SystemTime::duration monotonic_step_{0};
  std::vector<Duration> sleeps_;
};

/// A deterministic random source for tests (splitmix64 from a fixed seed). Thread-safe: the
/// export's workers share one, and each draw is a distinct step of the sequence (which thread
/// gets which step is up to the scheduler).
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(std::uint64_t seed = 42) : state_(seed) {}
  std::uint64_t next_u64() override {
    constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_.fetch_add(kGamma, std::memory_order_relaxed) + kGamma;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::atomic<std::uint64_t> state_;
};

}  // namespace user_export::testing
