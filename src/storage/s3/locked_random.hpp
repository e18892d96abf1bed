#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.hpp"

namespace user_export {

/// Serialises access to a Random that is not itself thread-safe (the parts of an upload are
/// retried from several threads at once, each drawing jitter). Borrows `inner`, which must
/// outlive it. Thread-safe.
class LockedRandom final : public Random {
 public:
  /// Wraps `inner`.
  explicit LockedRandom(Random& inner) : inner_(inner) {}
  /// The next value of the wrapped source, drawn under a lock.
  std::uint64_t next_u64() override {
    std::lock_guard lock(mu_);
    return inner_.next_u64();
  }

 private:
  std::mutex mu_;
  Random& inner_;
};

}  // namespace user_export
