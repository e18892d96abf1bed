#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.hpp"
#include "runtime/runtime.hpp"

namespace user_export {

/// The service's outbox relay on its own thread (docs/ARCHITECTURE.md, step 5): a pass whenever
/// woken (after a slot) or every second while passes deliver nothing, until stop(), which makes
/// a last pass draining what is due for at most `messages.delivery_timeout`.
class RelayLoop {
 public:
  /// Starts the thread; keeps references to both.
  RelayLoop(Runtime& rt, const Config& config);
  /// stop().
  ~RelayLoop();
  RelayLoop(const RelayLoop&) = delete;
  RelayLoop& operator=(const RelayLoop&) = delete;

  /// Asks for a pass now (the slot's messages are in the outbox).
  void wake();
  /// The last pass, then joins the thread. Idempotent.
  void stop();

 private:
  void loop();

  Runtime& rt_;
  const Config& config_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace user_export
