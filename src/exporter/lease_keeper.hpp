#pragma once

#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Extends a run's lease while a long stream is in progress: tick() is cheap and calls
/// Repository::heartbeat once a third of the lease has passed since the last extension, so a
/// healthy run never loses its lease and a dead one loses it within one lease period.
/// Not thread-safe (one per attempt).
class LeaseKeeper {
 public:
  LeaseKeeper(Repository& repository, Clock& clock, std::string run_id, std::string owner,
              std::chrono::seconds lease);
  /// Heartbeats if due. Throws Error(kLeaseLost) if the lease was lost meanwhile.
  void tick();

 private:
  Repository& repository_;
  Clock& clock_;
  std::string run_id_;
  std::string owner_;
  std::chrono::seconds lease_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace user_export
