#include "service/slot_runner.hpp"

#include <algorithm>
#include <thread>

#include "common/time_format.hpp"
#include "exporter/export_groups.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {
namespace {

/// How often verify_after_slot looks whether the slot's messages were delivered.
constexpr auto kDeliveryRecheck = std::chrono::milliseconds(200);

}  // namespace

SlotRunner::SlotRunner(const Config& config, Runtime& rt, DomainId domain, const CronSchedule& cron,
                       ExportService& service, WorkerPool& pool, RelayLoop& relay,
                       const std::atomic<bool>& stopping)
    : config_(config),
      rt_(rt),
      domain_(std::move(domain)),
      cron_(cron),
      service_(service),
      pool_(pool),
      relay_(relay),
      stopping_(stopping),
      verifier_(config, *rt.repository, *rt.store),
      verify_failures_(rt.metrics.counter(meters::kVerifyFailures)) {}

std::vector<MatchingGroup> SlotRunner::groups_of(const Firing& firing) {
  if (!firing.group) return rt_.repository->active_groups(domain_);
  std::vector<MatchingGroup> groups;
  if (auto g = rt_.repository->find_group(GroupId::parse(*firing.group))) groups.push_back(*g);
  return groups;
}

void SlotRunner::run(const Firing& firing) {
  const std::string slot_text = format_iso8601(SystemTime{firing.slot});
  std::vector<MatchingGroup> groups;
  try {
    groups = groups_of(firing);
  } catch (const std::exception& e) {
    log::error("cannot load the groups of the slot; the next slot or sweep retries",
               {{"slot", slot_text}, {"error", e.what()}});
    return;
  }
  rt_.metrics.counter(meters::kSchedulerSlots, {{"kind", to_string(firing.kind)}}).inc();
  log::info("slot started", {{"kind", to_string(firing.kind)},
                             {"slot", cron_.describe(SystemTime{firing.slot})},
                             {"groups", groups.size()}});
  const auto results = export_groups(service_, pool_, groups, firing.slot, {});
  int failed = 0;
  int skipped = 0;
  std::int64_t rows = 0;
  for (const auto& r : results) {
    if (r.failed()) ++failed;
    if (r.outcome == GroupOutcome::kSkipped) ++skipped;
    rows += r.rows;
  }
  log::info("slot finished", {{"kind", to_string(firing.kind)},
                              {"slot", slot_text},
                              {"groups", results.size()},
                              {"failed", failed},
                              {"skipped", skipped},
                              {"rows", rows}});
  relay_.wake();
  if (!config_.service.verify_after_slot) return;
  try {
    verify(results);
  } catch (const std::exception& e) {
    log::warn("could not verify the slot's runs; the next slot verifies its own",
              {{"slot", slot_text}, {"error", e.what()}});
  }
}

void SlotRunner::verify(const std::vector<GroupResult>& results) {
  std::vector<RunId> run_ids;
  for (const auto& r : results) {
    // The runs this slot finished; of these, an empty run has nothing to verify (below).
    const bool finished = r.outcome == GroupOutcome::kExported || r.outcome == GroupOutcome::kEmpty;
    if (finished && !r.run_id.empty()) run_ids.push_back(r.run_id);
  }
  const auto deadline = std::chrono::steady_clock::now() + config_.messages.delivery_timeout;
  std::vector<ExportRun> runs;
  for (;;) {
    runs.clear();
    bool undelivered = false;
    for (const auto& id : run_ids) {
      auto run = rt_.repository->find_run(id);
      if (!run) continue;
      if (run->state == RunState::kCommitted) undelivered = true;
      if (run->state == RunState::kCommitted || run->state == RunState::kCompleted) {
        runs.push_back(*run);
      }
    }
    if (!undelivered || stopping_ || std::chrono::steady_clock::now() >= deadline) break;
    relay_.wake();
    std::this_thread::sleep_for(kDeliveryRecheck);
  }
  const auto checks = verify_runs(verifier_, runs, &verify_failures_);
  const auto failed =
      std::count_if(checks.begin(), checks.end(), [](const RunCheck& c) { return !c.ok(); });
  log::info("slot verified", {{"runs", checks.size()}, {"failed", failed}});
}

}  // namespace user_export
