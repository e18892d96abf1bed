#include "service/relay_loop.hpp"

#include "observe/log.hpp"
#include "publish/outbox_relay.hpp"

namespace user_export {

RelayLoop::RelayLoop(Runtime& rt, const Config& config)
    : rt_(rt), config_(config), thread_([this] { loop(); }) {}

RelayLoop::~RelayLoop() {
  stop();
}

void RelayLoop::wake() {
  cv_.notify_all();
}

void RelayLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RelayLoop::loop() {
  OutboxRelay relay(*rt_.repository, *rt_.sink, rt_.metrics, rt_.clock, rt_.sleeper, rt_.random,
                    config_, OwnerId(config_.export_.instance_id));
  while (true) {
    const bool last = stop_.load();
    RelayStats stats;
    try {
      stats = last ? relay.drain(config_.messages.delivery_timeout) : relay.relay_once();
    } catch (const std::exception& e) {
      log::warn("outbox relay pass failed; retrying", {{"error", e.what()}});
    }
    if (last) break;
    if (stats.delivered + stats.dead_lettered == 0 || stats.circuit_open) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_.load(); });
    }
  }
}

}  // namespace user_export
