#include "service/daemon.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "observe/log.hpp"
#include "operate/run_operator.hpp"
#include "runtime/runtime.hpp"
#include "schedule/worker_pool.hpp"
#include "service/admin_server.hpp"
#include "service/backpressure.hpp"
#include "service/consumer_lag.hpp"
#include "service/daemon_admin_hooks.hpp"
#include "service/relay_loop.hpp"
#include "service/retention_loop.hpp"
#include "service/scheduler.hpp"
#include "service/shutdown_watchdog.hpp"
#include "service/slot_runner.hpp"

namespace user_export {
namespace {

/// How often a held slot re-reads the consumer lag.
constexpr auto kHoldRecheck = std::chrono::seconds(2);

DomainId domain_of(const Config& config) {
  try {
    return DomainId::parse(config.export_.domain_id);
  } catch (const Error& e) {
    throw Error(ErrorCode::kConfig, std::string("export.domain_id is invalid: ") + e.what() +
                                        "; set it (or USER_EXPORT_DOMAIN_ID) to the domain's UUID");
  }
}

std::chrono::seconds sweep_interval(const Config& config) {
  if (config.schedule.sweep_interval.count() > 0) return config.schedule.sweep_interval;
  return std::max(std::chrono::seconds(1), config.export_.lease / 2);
}

/// The consumer-lag probe of `[schedule] max_consumer_lag` (docs/SERVICE.md, "Back-pressure"),
/// or none when it is 0.
std::unique_ptr<ConsumerLagProbe> consumer_lag_probe(const Config& config) {
  if (config.schedule.max_consumer_lag <= 0) return nullptr;
  if (config.kafka.bootstrap.empty() || config.schedule.consumer_group.empty()) {
    throw Error(ErrorCode::kConfig,
                "schedule.max_consumer_lag needs kafka.bootstrap and schedule.consumer_group; "
                "set both, or max_consumer_lag = 0");
  }
  return std::make_unique<ConsumerLagProbe>(config, config.schedule.consumer_group,
                                            config.messages.topic);
}

}  // namespace

Daemon::Daemon(const Config& config) : config_(config) {}

Daemon::~Daemon() = default;

void Daemon::request_stop() {
  if (stopping_.exchange(true)) return;
  log::info("shutdown requested: no new slots; in-flight groups get the shutdown timeout to finish",
            {{"shutdown_timeout_seconds", config_.service.shutdown_timeout.count()}});
  std::lock_guard lock(mu_);
  if (scheduler_ != nullptr) scheduler_->stop();
  cv_.notify_all();
}

int Daemon::run() {
  const DomainId domain = domain_of(config_);
  CronSchedule cron = CronSchedule::parse(config_.schedule.cron, config_.schedule.time_zone);
  Runtime rt(config_);
  rt.repository->migrate();
  rt.open_backends();

  std::unique_ptr<ConsumerLagProbe> lag_probe = consumer_lag_probe(config_);
  Backpressure backpressure(rt.metrics, config_.schedule.max_consumer_lag,
                            lag_probe ? LagProbe([&] { return lag_probe->lag(); }) : LagProbe());
  Scheduler scheduler(cron, rt.clock,
                      SchedulerOptions{config_.schedule.missed_slot_grace, sweep_interval(config_),
                                       std::chrono::seconds(1)});
  {
    std::lock_guard lock(mu_);
    scheduler_ = &scheduler;
    if (stopping_) scheduler.stop();
  }

  std::atomic<bool> cancel{false};
  ExportDeps deps = rt.export_deps();
  deps.cancel = &cancel;
  deps.stop_claiming = &stopping_;  // after a stop request, queued groups do not start
  ExportService service(deps);
  WorkerPool pool(static_cast<std::size_t>(config_.export_.max_parallel_groups),
                  static_cast<std::size_t>(config_.export_.queue_capacity));
  RelayLoop relay(rt, config_);
  RetentionLoop retention(rt, config_);
  RunOperator run_operator(*rt.repository);
  AdminServer admin(config_.admin.addr, config_.admin.token,
                    daemon_admin_hooks(DaemonParts{config_, rt, domain, cron, scheduler,
                                                   backpressure, run_operator, stopping_}));
  SlotRunner slots(config_, rt, domain, cron, service, pool, relay, stopping_);
  ShutdownWatchdog watchdog(mu_, cv_, stopping_, config_.service.shutdown_timeout, cancel);

  // In this order: no more cancelling, no more admin requests, then the background loops end
  // (the relay with its last pass) and the producer is flushed.
  auto finish = [&] {
    watchdog.finish();
    {
      std::lock_guard lock(mu_);
      scheduler_ = nullptr;
    }
    admin.stop();
    retention.stop();
    relay.stop();
    rt.sink->flush(config_.messages.delivery_timeout);
  };

  try {
    admin.start();
    const auto next = cron.next_after(rt.clock.now());
    log::info("service started", {{"domain_id", domain.str()},
                                  {"schedule", config_.schedule.cron},
                                  {"zone", config_.schedule.time_zone},
                                  {"next_slot", next ? cron.describe(*next) : "never"},
                                  {"instance", config_.export_.instance_id}});
    while (auto firing = scheduler.wait_next()) {
      if (firing->kind != FiringKind::kTrigger) {
        bool held = false;
        while (!stopping_ && backpressure.should_hold()) {
          held = true;
          if (auto trigger = scheduler.take_trigger()) {  // run now even while held
            slots.run(*trigger);
            continue;
          }
          scheduler.wait_for(kHoldRecheck);
        }
        if (stopping_) break;
        if (held) backpressure.release();
      }
      slots.run(*firing);
      if (stopping_) break;
    }
  } catch (...) {
    request_stop();
    finish();
    throw;
  }
  finish();
  log::info("service stopped", {{"instance", config_.export_.instance_id}});
  return kExitOk;
}

}  // namespace user_export
