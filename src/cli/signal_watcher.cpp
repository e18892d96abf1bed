#include "cli/signal_watcher.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>

namespace user_export {
namespace {

const char* signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(const char*)> on_first, std::string second_message)
    : on_first_(std::move(on_first)), second_message_(std::move(second_message)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] {
    const timespec tick{0, 200'000'000};
    while (!done_) {
      const int sig = sigtimedwait(&signals_, nullptr, &tick);
      if (sig <= 0) continue;
      int expected = 0;
      if (first_.compare_exchange_strong(expected, sig)) {
        on_first_(signal_name(sig));
      } else {
        spdlog::warn("second signal ({}): {}", signal_name(sig), second_message_);
        spdlog::default_logger()->flush();
        _exit(128 + sig);
      }
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  thread_.join();
}

std::string SignalWatcher::received() const {
  const int sig = first_.load();
  return sig == 0 ? std::string() : signal_name(sig);
}

}  // namespace user_export
