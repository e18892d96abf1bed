#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace user_export {

/// SIGTERM and SIGINT for a command that stops gracefully. Construct it before any other thread
/// starts: it blocks both signals in this thread (threads started later inherit the mask) and
/// takes them on a thread of its own with sigtimedwait, so no thread is interrupted and the
/// handling may log and lock. The first signal calls `on_first` with the signal's name; the
/// second logs `second_message` and ends the process at once with 128 + the signal's number
/// (claims stay in the database, leases expire, the next start resumes).
class SignalWatcher {
 public:
  SignalWatcher(std::function<void(const char* name)> on_first, std::string second_message);
  /// Stops watching (the signals stay blocked).
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  /// The first signal's name ("SIGTERM", "SIGINT"), or "" while none came.
  std::string received() const;

 private:
  sigset_t signals_{};
  std::atomic<bool> done_{false};
  std::atomic<int> first_{0};
  std::function<void(const char*)> on_first_;
  std::string second_message_;
  std::thread thread_;
};

}  // namespace user_export
