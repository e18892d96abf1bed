// `user-export run`: the service, with its signal handling.
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/signal_watcher.hpp"
#include "common/error.hpp"
#include "observe/log.hpp"
#include "service/daemon.hpp"

namespace user_export {

int run_service_command(const CommonOptions& common) {
  Config config = load_command_config(common);

  std::atomic<Daemon*> running{nullptr};
  SignalWatcher signals(
      [&](const char* name) {
        spdlog::info("received {}; shutting down gracefully (send it again to exit at once)", name);
        if (Daemon* daemon = running.load()) daemon->request_stop();
      },
      "exiting at once; unfinished runs are resumed at the next start");
  Daemon daemon(config);
  running = &daemon;
  if (!signals.received().empty()) daemon.request_stop();  // a signal before the daemon was
  return daemon.run();
}

}  // namespace user_export
