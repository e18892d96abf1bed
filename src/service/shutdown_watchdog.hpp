#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace user_export {

/// Cancels what is still running once the shutdown timeout has passed after a stop request
/// (docs/SERVICE.md, "Signals and shutdown"): sets `cancel`, which stops streams and uploads; their
/// claims are kept and the next start resumes them. Waits on the owner's `mu` and `cv`, which the
/// owner notifies when `stopping` becomes true.
class ShutdownWatchdog {
 public:
  /// Starts the watch; keeps references to all but `timeout`.
  ShutdownWatchdog(std::mutex& mu, std::condition_variable& cv, const std::atomic<bool>& stopping,
                   std::chrono::seconds timeout, std::atomic<bool>& cancel);
  /// finish().
  ~ShutdownWatchdog();
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  /// The slots are done: ends the watch without cancelling anything more. Call without holding
  /// `mu`. Idempotent.
  void finish();

 private:
  void watch();

  std::mutex& mu_;
  std::condition_variable& cv_;
  const std::atomic<bool>& stopping_;
  const std::chrono::seconds timeout_;
  std::atomic<bool>& cancel_;
  bool done_ = false;   // guarded by mu_
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace user_export
