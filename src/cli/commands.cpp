#include "cli/commands.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/export_job.hpp"
#include "cli/graceful_stop.hpp"
#include "cli/signal_watcher.hpp"
#include "cli/terminal.hpp"
#include "common/error.hpp"
#include "config/config_loader.hpp"
#include "config/environment.hpp"
#include "observe/log.hpp"
#include "observe/logging.hpp"
#include "runtime/runtime.hpp"

namespace user_export {
namespace {

void write_metrics_file(const std::string& path, const Metrics& metrics) {
  std::ofstream out(path, std::ios::trunc);
  out << metrics.prometheus_text();
  out.close();
  if (!out) throw Error(ErrorCode::kIo, "cannot write the metrics file " + path);
}

/// SIGTERM/SIGINT for a one-shot command: the watcher first (every thread started after it —
/// timer, pools, Kafka — leaves the signals to it), then the graceful stop it begins.
struct StopOnSignal {
  StopOnSignal(const Config& config, std::string first, std::string second)
      : signals(
            [this, first, &config](const char* name) {
              log::info(first + " (send it again to exit at once)",
                        {{"signal", name},
                         {"shutdown_timeout_seconds", config.service.shutdown_timeout.count()}});
              if (GracefulStop* s = target.load()) s->begin(name);
            },
            std::move(second)),
        stop(config.service.shutdown_timeout) {
    target = &stop;
    if (const std::string early = signals.received(); !early.empty()) {
      stop.begin(early == "SIGTERM" ? "SIGTERM" : "SIGINT");
    }
  }

  std::atomic<GracefulStop*> target{nullptr};
  SignalWatcher signals;
  GracefulStop stop;
};

}  // namespace

int run_export_command(const CommonOptions& common, const std::vector<std::string>& group_ids,
                       const std::string& metrics_file) {
  Config config = load_command_config(common);
  StopOnSignal on_signal(config,
                         "signal received: no group starts now; the groups in flight get the "
                         "shutdown timeout to finish",
                         "exiting at once; claims are kept and the next run resumes them");
  Runtime runtime(config);
  ExportJobOptions options;
  options.group_ids = group_ids;
  options.stop = &on_signal.stop;
  ExportJobResult result;
  try {
    result = run_export_job(runtime, options, std::cout);
  } catch (...) {
    // A run refused at start-up (bucket check, database) still leaves its metrics behind for
    // a Pushgateway or cron wrapper to report.
    if (!metrics_file.empty()) write_metrics_file(metrics_file, runtime.metrics);
    throw;
  }
  if (!metrics_file.empty()) write_metrics_file(metrics_file, runtime.metrics);
  return result.exit_code;
}

int run_migrate_command(const CommonOptions& common) {
  Config config = load_command_config(common);
  Runtime runtime(config);
  runtime.repository->migrate();
  std::cout << "database schema at version " << runtime.repository->schema_version() << "\n";
  return kExitOk;
}

int run_seed_command(const CommonOptions& common, std::int64_t users, int groups,
                     std::uint64_t random_seed) {
  Config config = load_command_config(common);
  Runtime runtime(config);
  runtime.repository->migrate();
  SeedPlan plan{DomainId::parse(config.export_.domain_id), users, groups, random_seed};
  Progress progress("seeding users");
  auto started = runtime.clock.monotonic();
  runtime.repository->seed(
      plan, [&](std::int64_t done, std::int64_t total) { progress.update(done, total); });
  progress.finish();
  double seconds = std::chrono::duration<double>(runtime.clock.monotonic() - started).count();
  std::cout << "seeded " << users << " users in " << groups << " groups of domain "
            << plan.domain_id.str() << " in " << seconds << " s\n";
  return kExitOk;
}

int run_check_config_command(const std::string& file) {
  Environment env = Environment::from_process();
  Config config = load_config(file, env);
  std::cout << "# " << file << " is valid. Effective configuration (environment applied, "
            << "secrets redacted):\n"
            << render_effective_config(config);
  return kExitOk;
}

int run_relay_command(const CommonOptions& common) {
  Config config = load_command_config(common);
  StopOnSignal on_signal(config,
                         "signal received: the relay starts no new send; the messages in flight "
                         "get the shutdown timeout",
                         "exiting at once; undelivered messages stay in the outbox");
  GracefulStop& stop = on_signal.stop;
  Runtime runtime(config);
  runtime.repository->migrate();
  runtime.sink = open_message_sink(config, &runtime.metrics);
  CancelHook stop_sends(stop, [&runtime] { runtime.sink->stop_waiting(); });
  OutboxRelay relay(*runtime.repository, *runtime.sink, runtime.metrics, runtime.clock,
                    runtime.sleeper, runtime.random, config, OwnerId(config.export_.instance_id));
  RelayStats stats = relay.drain(config.messages.delivery_timeout, &stop.stop_claiming);
  runtime.sink->flush(stop.stop_claiming ? std::chrono::milliseconds{0}
                                         : config.messages.delivery_timeout);
  std::cout << "delivered " << stats.delivered << ", dead-lettered " << stats.dead_lettered
            << ", still pending " << stats.pending << "\n";
  if (stop.stop_claiming) {
    std::fprintf(stderr,
                 "interrupted by %s: %lld messages delivered, %lld left in the outbox for the "
                 "next run or `user-export relay`\n",
                 stop.reason(), static_cast<long long>(stats.delivered),
                 static_cast<long long>(stats.pending));
    return kExitInterrupted;
  }
  return stats.pending > 0 ? kExitFailed : kExitOk;
}

Config load_command_config(const CommonOptions& common) {
  Environment env = Environment::from_process();
  Config config = load_config(config_path_from(common.config, env), env);
  init_logging(config.log.level, config.log.json);
  return config;
}

}  // namespace user_export
