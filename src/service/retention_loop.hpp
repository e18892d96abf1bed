#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.hpp"
#include "runtime/runtime.hpp"
#include "service/retention.hpp"

namespace user_export {

/// Retention on its own thread: the first prune a minute after start-up, then one a day
/// (docs/SERVICE.md; docs/SCHEMA.md, "Retention"), until stop(), which also interrupts a prune in
/// progress between its batches.
class RetentionLoop {
 public:
  /// Starts the thread; keeps references to both.
  RetentionLoop(Runtime& rt, const Config& config);
  /// stop().
  ~RetentionLoop();
  RetentionLoop(const RetentionLoop&) = delete;
  RetentionLoop& operator=(const RetentionLoop&) = delete;

  /// Ends the loop and joins the thread. Idempotent.
  void stop();

 private:
  void loop();

  Clock& clock_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  Retention retention_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace user_export
