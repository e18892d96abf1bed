#include "service/shutdown_watchdog.hpp"

#include "observe/log.hpp"

namespace user_export {

ShutdownWatchdog::ShutdownWatchdog(std::mutex& mu, std::condition_variable& cv,
                                   const std::atomic<bool>& stopping, std::chrono::seconds timeout,
                                   std::atomic<bool>& cancel)
    : mu_(mu), cv_(cv), stopping_(stopping), timeout_(timeout), cancel_(cancel), thread_([this] {
        watch();
      }) {}

ShutdownWatchdog::~ShutdownWatchdog() {
  finish();
}

void ShutdownWatchdog::finish() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ShutdownWatchdog::watch() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopping_.load() || done_; });
  if (done_) return;
  if (!cv_.wait_for(lock, timeout_, [&] { return done_; })) {
    log::warn(
        "shutdown timeout passed; cancelling the groups still running (streams and uploads "
        "stop, their claims are kept and the next start resumes them)",
        {{"shutdown_timeout_seconds", timeout_.count()}});
    cancel_ = true;
  }
}

}  // namespace user_export
