#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "config/config.hpp"

namespace user_export {

class Scheduler;

/// `user-export run`: the long-running service. Validates the domain id and the schedule,
/// opens the backends, then until stopped: runs each fired slot's active groups on the worker
/// pool (holding slots while paused or under back-pressure), relays the outbox on its own
/// thread, and serves the admin endpoint. request_stop() (first SIGTERM/SIGINT) ends the
/// scheduling; in-flight groups get `service.shutdown_timeout` to finish, then are cancelled
/// (their claims are kept for the next start); the relay makes a last pass and the producer
/// is flushed.
class Daemon {
 public:
  /// Keeps a reference to `config`.
  explicit Daemon(const Config& config);
  ~Daemon();

  /// Runs until request_stop(); returns the exit code (0 after a graceful stop). Throws Error
  /// for what prevents starting (configuration, database, store, admin address).
  int run();
  /// Starts the graceful shutdown; callable from any thread, any number of times.
  void request_stop();

 private:
  const Config& config_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  Scheduler* scheduler_ = nullptr;  // set while run() is scheduling
};

}  // namespace user_export
