#include "cli/graceful_stop.hpp"

#include "observe/log.hpp"

namespace user_export {

GracefulStop::GracefulStop(std::chrono::milliseconds timeout) : timeout_(timeout) {
  timer_ = std::thread([this] {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return finished_ || stop_claiming.load(); });
    if (finished_) return;
    if (!cv_.wait_for(lock, timeout_, [&] { return finished_; })) {
      log::warn(
          "shutdown timeout passed; stopping the groups still running (streams and "
          "uploads stop, their claims are kept and the next run resumes them)",
          {{"shutdown_timeout_ms", timeout_.count()}});
      cancel = true;
      if (on_cancel_) on_cancel_();
    }
  });
}

GracefulStop::~GracefulStop() {
  finish();
  timer_.join();
}

void GracefulStop::begin(const char* name) {
  {
    std::lock_guard lock(mu_);
    if (stop_claiming) return;
    reason_ = name;
    stop_claiming = true;
  }
  cv_.notify_all();
}

void GracefulStop::on_cancel(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_cancel_ = std::move(fn);
}

void GracefulStop::finish() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

}  // namespace user_export
