#pragma once

#include <atomic>
#include <vector>

#include "config/config.hpp"
#include "exporter/export_service.hpp"
#include "runtime/runtime.hpp"
#include "schedule/cron/cron_schedule.hpp"
#include "schedule/worker_pool.hpp"
#include "service/relay_loop.hpp"
#include "service/scheduler.hpp"
#include "verify/run_verifier.hpp"

namespace user_export {

/// Runs the service's firings (docs/SERVICE.md): loads the slot's groups (all active groups of
/// the domain, or the triggered one), exports them on the worker pool and waits for them, logs
/// and counts the slot, wakes the relay, and with `[service] verify_after_slot` verifies the
/// slot's new runs once their messages are delivered (or the delivery timeout passed).
class SlotRunner {
 public:
  /// Keeps references to everything but `domain`.
  SlotRunner(const Config& config, Runtime& rt, DomainId domain, const CronSchedule& cron,
             ExportService& service, WorkerPool& pool, RelayLoop& relay,
             const std::atomic<bool>& stopping);

  /// Runs `firing` to its end. A failure to load the groups is logged and the firing dropped
  /// (the next slot or sweep retries); a failure to verify is logged.
  void run(const Firing& firing);

 private:
  std::vector<MatchingGroup> groups_of(const Firing& firing);
  void verify(const std::vector<GroupResult>& results);

  const Config& config_;
  Runtime& rt_;
  const DomainId domain_;
  const CronSchedule& cron_;
  ExportService& service_;
  WorkerPool& pool_;
  RelayLoop& relay_;
  const std::atomic<bool>& stopping_;
  RunVerifier verifier_;
  Counter& verify_failures_;
};

}  // namespace user_export
