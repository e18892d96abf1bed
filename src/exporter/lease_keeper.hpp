#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Extends a run's lease while a long stream is in progress: tick() is cheap and calls
/// Repository::heartbeat once a third of the lease has passed since the last extension, so a
/// healthy run never loses its lease and a dead one loses it within one lease period.
/// Not thread-safe (one per attempt). A keeper of a batch keeps the leases of all its runs.
class LeaseKeeper {
 public:
  /// `cancel` (optional, may be null) is the shutdown flag checked by every tick().
  LeaseKeeper(Repository& repository, Clock& clock, std::string run_id, std::string owner,
              std::chrono::seconds lease, const std::atomic<bool>* cancel = nullptr);
  /// The same for every run of a batch.
  LeaseKeeper(Repository& repository, Clock& clock, std::vector<std::string> run_ids,
              std::string owner, std::chrono::seconds lease,
              const std::atomic<bool>* cancel = nullptr);
  /// Heartbeats if due. Throws Error(kLeaseLost) if the lease was lost meanwhile, and a
  /// non-retriable Error(kInternal) "cancelled by shutdown" once `cancel` reads true.
  void tick();

 private:
  Repository& repository_;
  Clock& clock_;
  std::vector<std::string> run_ids_;
  std::string owner_;
  std::chrono::seconds lease_;
  std::chrono::steady_clock::time_point last_;
  const std::atomic<bool>* cancel_;
};

}  // namespace user_export
