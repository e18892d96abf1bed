#pragma once

#include <chrono>
#include <cstdint>

namespace user_export {

using SystemTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

/// Source of time. Injected everywhere time matters (leases, retries, timers) so tests control
/// it. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time (leases, slots, timestamps written to storage).
  virtual SystemTime now() const = 0;
  /// Monotonic time for measuring durations.
  virtual std::chrono::steady_clock::time_point monotonic() const = 0;
};

/// Seconds of `clock`'s monotonic time since `start`.
inline double seconds_since(const Clock& clock, std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(clock.monotonic() - start).count();
}

/// Waiting. Injected into retry and polling loops so tests do not sleep.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  /// Blocks the calling thread for `d` (or, in tests, records it and advances a fake clock).
  virtual void sleep_for(Duration d) = 0;
};

/// Randomness. Injected into back-off jitter and id generation so tests are deterministic.
/// The exporter's workers share one: an implementation given to it must be thread-safe
/// (SystemRandom and FakeRandom are; LockedRandom makes any other one so).
class Random {
 public:
  virtual ~Random() = default;
  /// A uniformly distributed 64-bit value.
  virtual std::uint64_t next_u64() = 0;
  /// A uniformly distributed double in [0, 1).
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

/// The real sleeper.
class ThreadSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override;
};

/// A thread-safe random source: every value comes from the kernel's cryptographically secure
/// generator (getrandom), so run ids drawn from it cannot be predicted from earlier ones and
/// do not repeat across processes (a generator seeded with 32 bits, or copied by fork(),
/// would).
class SystemRandom final : public Random {
 public:
  std::uint64_t next_u64() override;
};

}  // namespace user_export
