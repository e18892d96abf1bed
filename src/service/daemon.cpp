#include "service/daemon.hpp"

#include <algorithm>
#include <thread>

#include "cli/runtime.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "exporter/export_batch.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"
#include "operate/run_operator.hpp"
#include "plan/export_plan.hpp"
#include "publish/outbox_relay.hpp"
#include "schedule/worker_pool.hpp"
#include "service/admin_server.hpp"
#include "service/backpressure.hpp"
#include "service/consumer_lag.hpp"
#include "service/retention.hpp"
#include "service/scheduler.hpp"
#include "verify/run_verifier.hpp"

namespace user_export {
namespace {

/// How often a held slot re-reads the consumer lag.
constexpr auto kHoldRecheck = std::chrono::seconds(2);
/// How often verify_after_slot looks whether the slot's messages were delivered.
constexpr auto kDeliveryRecheck = std::chrono::milliseconds(200);

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

  std::unique_ptr<ConsumerLagProbe> lag_probe;
  if (config_.schedule.max_consumer_lag > 0) {
    if (config_.kafka.bootstrap.empty() || config_.schedule.consumer_group.empty()) {
      throw Error(ErrorCode::kConfig,
                  "schedule.max_consumer_lag needs kafka.bootstrap and schedule.consumer_group; "
                  "set both, or max_consumer_lag = 0");
    }
    lag_probe = std::make_unique<ConsumerLagProbe>(config_, config_.schedule.consumer_group,
                                                   config_.messages.topic);
  }
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
  auto slots_total = [&](FiringKind kind) -> Counter& {
    return rt.metrics.counter(meters::kSchedulerSlots, {{"kind", to_string(kind)}});
  };

  // The relay: a pass whenever woken (after a slot) or every second, until the final pass.
  std::atomic<bool> relay_stop{false};
  std::mutex relay_mu;
  std::condition_variable relay_cv;
  std::thread relay_thread([&] {
    OutboxRelay relay(*rt.repository, *rt.sink, rt.metrics, rt.clock, rt.sleeper, rt.random,
                      config_, config_.export_.instance_id);
    while (true) {
      const bool last = relay_stop.load();
      RelayStats stats;
      try {
        stats = last ? relay.drain(config_.messages.delivery_timeout) : relay.relay_once();
      } catch (const std::exception& e) {
        log::warn("outbox relay pass failed; retrying", {{"error", e.what()}});
      }
      if (last) break;
      if (stats.delivered + stats.dead_lettered == 0 || stats.circuit_open) {
        std::unique_lock lock(relay_mu);
        relay_cv.wait_for(lock, std::chrono::seconds(1), [&] { return relay_stop.load(); });
      }
    }
  });
  auto wake_relay = [&] { relay_cv.notify_all(); };

  // Retention: the first prune a minute after start-up, then one a day (docs/SERVICE.md).
  std::atomic<bool> retention_stop{false};
  std::mutex retention_mu;
  std::condition_variable retention_cv;
  RetentionOptions retention_options;
  retention_options.days = config_.retention.days;
  retention_options.stop = &retention_stop;
  Retention retention(*rt.repository, rt.clock, rt.metrics, retention_options);
  std::thread retention_thread([&] {
    std::unique_lock lock(retention_mu);
    while (!retention_stop) {
      lock.unlock();
      retention.run_if_due();
      lock.lock();
      const auto until_due = std::chrono::duration_cast<std::chrono::milliseconds>(
          retention.next_due() - rt.clock.now());
      const auto wait =
          std::clamp(until_due, std::chrono::milliseconds(100), std::chrono::milliseconds(60'000));
      retention_cv.wait_for(lock, wait, [&] { return retention_stop.load(); });
    }
  });

  AdminHooks hooks;
  hooks.not_ready = [&]() -> std::optional<std::string> {
    if (stopping_) return "shutting down";
    try {
      rt.repository->schema_version();
    } catch (const std::exception& e) {
      return std::string("database unreachable: ") + e.what();
    }
    return std::nullopt;
  };
  hooks.metrics_text = [&] { return rt.metrics.prometheus_text(); };
  hooks.recent_runs = [&](std::size_t limit) { return rt.repository->recent_runs(limit); };
  RunOperator run_operator(*rt.repository);
  hooks.run_detail = [&](const std::string& id) -> std::optional<std::string> {
    if (auto detail = run_operator.detail(id)) return detail->dump();
    return std::nullopt;
  };
  hooks.run_action = [&](const std::string& id, const std::string& action,
                         const std::string& reason,
                         const std::string& actor) -> std::optional<std::string> {
    if (auto answer = run_operator.act(id, action, actor, reason)) return answer->dump();
    return std::nullopt;
  };
  hooks.pause = [&] { backpressure.pause(); };
  hooks.resume = [&] {
    backpressure.resume();
    scheduler.wake();
  };
  hooks.plan = [&](std::optional<std::string> group) {
    std::vector<std::string> ids;
    if (group) ids.push_back(*group);
    const auto groups = groups_to_plan(*rt.repository, domain, ids);
    // The service exports in its next scheduled slot.
    const SystemTime now = rt.clock.now();
    const Slot slot = std::chrono::floor<std::chrono::seconds>(cron.next_after(now).value_or(now));
    ExportPlanner planner(config_, *rt.repository, rt.store->key_prefix());
    std::vector<GroupPlan> plans;
    for (const auto& g : groups) plans.push_back(planner.plan(g, slot));
    return plan_json(plans);
  };
  hooks.trigger = [&](std::optional<std::string> group) {
    if (group) {
      GroupId id = GroupId::parse(*group);  // Error(kInvalidInput) when malformed
      auto found = rt.repository->find_group(id);
      if (!found || found->domain_id != domain) {
        throw Error(ErrorCode::kInvalidInput,
                    "group " + id.str() + " is not a group of domain " + domain.str());
      }
      group = id.str();
    }
    scheduler.trigger(group);
  };
  AdminServer admin(config_.admin.addr, config_.admin.token, hooks);

  // verify_after_slot: once the slot's messages are delivered (or the delivery timeout passed),
  // the slot's finished runs are reconciled like `user-export verify` does.
  Counter& verify_failures = rt.metrics.counter(meters::kVerifyFailures);
  RunVerifier verifier(config_, *rt.repository, *rt.store);
  auto verify_slot = [&](const std::vector<GroupResult>& results) {
    std::vector<std::string> run_ids;
    for (const auto& r : results) {
      if (r.ok && !r.skipped && !r.already_done && !r.run_id.empty()) run_ids.push_back(r.run_id);
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.messages.delivery_timeout;
    std::vector<ExportRun> runs;
    for (;;) {
      runs.clear();
      bool undelivered = false;
      for (const auto& id : run_ids) {
        auto run = rt.repository->find_run(id);
        if (!run) continue;
        if (run->state == RunState::kCommitted) undelivered = true;
        if (run->state == RunState::kCommitted || run->state == RunState::kCompleted) {
          runs.push_back(*run);
        }
      }
      if (!undelivered || stopping_ || std::chrono::steady_clock::now() >= deadline) break;
      wake_relay();
      std::this_thread::sleep_for(kDeliveryRecheck);
    }
    const auto checks = verify_runs(verifier, runs, &verify_failures);
    const auto failed =
        std::count_if(checks.begin(), checks.end(), [](const RunCheck& c) { return !c.ok(); });
    log::info("slot verified", {{"runs", checks.size()}, {"failed", failed}});
  };

  // Cancels what is still running once the shutdown timeout has passed.
  bool slots_done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopping_.load() || slots_done; });
    if (slots_done) return;
    if (!cv_.wait_for(lock, config_.service.shutdown_timeout, [&] { return slots_done; })) {
      log::warn(
          "shutdown timeout passed; cancelling the groups still running (streams and uploads "
          "stop, their claims are kept and the next start resumes them)",
          {{"shutdown_timeout_seconds", config_.service.shutdown_timeout.count()}});
      cancel = true;
    }
  });

  auto finish = [&] {
    {
      std::lock_guard lock(mu_);
      slots_done = true;
      scheduler_ = nullptr;
    }
    cv_.notify_all();
    watchdog.join();
    admin.stop();
    {
      std::lock_guard lock(retention_mu);
      retention_stop = true;
    }
    retention_cv.notify_all();
    retention_thread.join();
    relay_stop = true;
    wake_relay();
    relay_thread.join();
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
    // Runs one firing's groups on the pool and waits for them.
    auto run_firing = [&](const Firing& firing) {
      std::vector<MatchingGroup> groups;
      try {
        if (firing.group) {
          if (auto g = rt.repository->find_group(GroupId::parse(*firing.group))) {
            groups.push_back(*g);
          }
        } else {
          groups = rt.repository->active_groups(domain);
        }
      } catch (const std::exception& e) {
        log::error("cannot load the groups of the slot; the next slot or sweep retries",
                   {{"slot", format_iso8601(SystemTime{firing.slot})}, {"error", e.what()}});
        return;
      }
      slots_total(firing.kind).inc();
      log::info("slot started", {{"kind", to_string(firing.kind)},
                                 {"slot", cron.describe(SystemTime{firing.slot})},
                                 {"groups", groups.size()}});
      auto results = export_groups(service, pool, groups, firing.slot, {});
      int failed = 0;
      int skipped = 0;
      std::int64_t rows = 0;
      for (const auto& r : results) {
        if (!r.ok) ++failed;
        if (r.skipped) ++skipped;
        rows += r.rows;
      }
      log::info("slot finished", {{"kind", to_string(firing.kind)},
                                  {"slot", format_iso8601(SystemTime{firing.slot})},
                                  {"groups", results.size()},
                                  {"failed", failed},
                                  {"skipped", skipped},
                                  {"rows", rows}});
      wake_relay();
      if (config_.service.verify_after_slot) {
        try {
          verify_slot(results);
        } catch (const std::exception& e) {
          log::warn("could not verify the slot's runs; the next slot verifies its own",
                    {{"slot", format_iso8601(SystemTime{firing.slot})}, {"error", e.what()}});
        }
      }
    };
    while (auto firing = scheduler.wait_next()) {
      if (firing->kind != FiringKind::kTrigger) {
        bool held = false;
        while (!stopping_ && backpressure.should_hold()) {
          held = true;
          if (auto trigger = scheduler.take_trigger()) {  // run now even while held
            run_firing(*trigger);
            continue;
          }
          scheduler.wait_for(kHoldRecheck);
        }
        if (stopping_) break;
        if (held) backpressure.release();
      }
      run_firing(*firing);
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
