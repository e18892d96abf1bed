#pragma once

#include <atomic>

#include "config/config.hpp"
#include "domain/ids.hpp"
#include "operate/run_operator.hpp"
#include "runtime/runtime.hpp"
#include "schedule/cron/cron_schedule.hpp"
#include "service/admin_routes.hpp"
#include "service/backpressure.hpp"
#include "service/scheduler.hpp"

namespace user_export {

/// What the service's admin endpoints act on; every member outlives the admin server.
struct DaemonParts {
  const Config& config;
  Runtime& rt;
  DomainId domain;
  const CronSchedule& cron;
  Scheduler& scheduler;
  Backpressure& backpressure;
  RunOperator& run_operator;
  const std::atomic<bool>& stopping;
};

/// The admin API's hooks on the running service (docs/SERVICE.md, "Admin HTTP API"): readiness
/// (not while stopping, not without the database), metrics, runs and run actions, pause and
/// resume, the plan of the next scheduled slot, and triggers for a group of the domain.
AdminHooks daemon_admin_hooks(const DaemonParts& parts);

}  // namespace user_export
