// `user-export run`: the service, with its signal handling.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "cli/commands.hpp"
#include "cli/logging.hpp"
#include "common/error.hpp"
#include "config/config_loader.hpp"
#include "config/environment.hpp"
#include "service/daemon.hpp"

namespace user_export {

int run_service_command(const CommonOptions& common) {
  Environment env = Environment::from_process();
  Config config = load_config(config_path_from(common.config, env), env);
  init_logging(config.log.level);

  // SIGTERM/SIGINT are taken by one thread with sigtimedwait, so no thread is interrupted and
  // the handling may log and lock: the first starts the graceful shutdown, the second exits at
  // once (claims stay in the database, leases expire, the next start resumes).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Daemon daemon(config);
  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    int received = 0;
    const timespec tick{0, 200'000'000};
    while (!done) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig <= 0) continue;
      if (++received == 1) {
        spdlog::info("received {}; shutting down gracefully (send it again to exit at once)",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
        daemon.request_stop();
      } else {
        spdlog::warn(
            "second signal: exiting at once; unfinished runs are resumed at the next "
            "start");
        spdlog::default_logger()->flush();
        _exit(128 + sig);
      }
    }
  });
  int code = kExitFailed;
  try {
    code = daemon.run();
  } catch (...) {
    done = true;
    signal_thread.join();
    throw;
  }
  done = true;
  signal_thread.join();
  return code;
}

}  // namespace user_export
