#include "service/retention_loop.hpp"

#include <algorithm>

namespace user_export {
namespace {

RetentionOptions options_of(const Config& config, std::atomic<bool>* stop) {
  RetentionOptions options;
  options.days = config.retention.days;
  options.stop = stop;
  return options;
}

}  // namespace

RetentionLoop::RetentionLoop(Runtime& rt, const Config& config)
    : clock_(rt.clock),
      retention_(*rt.repository, rt.clock, rt.metrics, options_of(config, &stop_)),
      thread_([this] { loop(); }) {}

RetentionLoop::~RetentionLoop() {
  stop();
}

void RetentionLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionLoop::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    retention_.run_if_due();
    lock.lock();
    const auto until_due =
        std::chrono::duration_cast<std::chrono::milliseconds>(retention_.next_due() - clock_.now());
    const auto wait =
        std::clamp(until_due, std::chrono::milliseconds(100), std::chrono::milliseconds(60'000));
    cv_.wait_for(lock, wait, [&] { return stop_.load(); });
  }
}

}  // namespace user_export
