#include "cli/export_job.hpp"

#include <atomic>
#include <cstdio>
#include <optional>
#include <set>

#include "cli/report_table.hpp"
#include "cli/terminal.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "exporter/export_groups.hpp"
#include "observe/log.hpp"
#include "schedule/worker_pool.hpp"
#include "source/group_selection.hpp"

namespace user_export {

ExportJobResult run_export_job(Runtime& rt, const ExportJobOptions& options, std::ostream& out) {
  const Config& config = rt.config;
  const DomainId domain = DomainId::parse(config.export_.domain_id);
  rt.repository->migrate();
  rt.open_backends();
  std::optional<CancelHook> stop_sends;  // past the shutdown timeout, stop waiting on the broker
  if (options.stop != nullptr) {
    stop_sends.emplace(*options.stop, [&rt] { rt.sink->stop_waiting(); });
  }

  const std::vector<MatchingGroup> groups =
      select_groups(*rt.repository, domain, options.group_ids);
  const Slot slot = std::chrono::floor<std::chrono::seconds>(rt.clock.now());
  log::info("export started", {{"domain_id", domain.str()},
                               {"slot", format_iso8601(SystemTime{slot})},
                               {"groups", groups.size()},
                               {"workers", config.export_.max_parallel_groups}});

  ExportJobResult result;
  {
    ExportDeps deps = rt.export_deps();
    deps.once_per_slot = false;  // a one-shot export exports what is unsent now
    if (options.stop != nullptr) {
      deps.stop_claiming = &options.stop->stop_claiming;
      deps.cancel = &options.stop->cancel;
    }
    ExportService service(deps);
    WorkerPool pool(static_cast<std::size_t>(config.export_.max_parallel_groups),
                    static_cast<std::size_t>(config.export_.queue_capacity));
    Progress progress("exporting groups");
    std::atomic<std::int64_t> done{0};
    const auto total = static_cast<std::int64_t>(groups.size());
    progress.update(0, total);
    result.groups = export_groups(service, pool, groups, slot, [&](const GroupResult& r) {
      progress.update(++done, total, r.group.name);
    });
    progress.finish();
  }

  OutboxRelay relay(*rt.repository, *rt.sink, rt.metrics, rt.clock, rt.sleeper, rt.random, config,
                    OwnerId(config.export_.instance_id));
  result.relay = relay.drain(config.messages.delivery_timeout,
                             options.stop ? &options.stop->stop_claiming : nullptr);
  rt.sink->flush(config.messages.delivery_timeout);

  for (auto& g : result.groups) {  // the relay may have completed committed runs
    if (!g.failed() && !g.run_id.empty()) {
      if (auto run = rt.repository->find_run(g.run_id)) g.state = run->state;
    }
  }
  print_report_table(out, result.groups, options.show_paths_relative_to);
  int failed = 0;
  for (const auto& g : result.groups) {
    if (g.failed()) ++failed;
  }
  out << groups.size() << " groups: " << (groups.size() - static_cast<std::size_t>(failed))
      << " ok, " << failed << " failed; messages delivered " << result.relay.delivered
      << ", dead-lettered " << result.relay.dead_lettered << ", still pending "
      << result.relay.pending << "\n";
  if (failed > 0) {
    std::fprintf(stderr,
                 "error: %d of %zu groups failed (see the log lines above); their claims are kept "
                 "and the next run resumes them\n",
                 failed, groups.size());
  }
  if (result.relay.pending > 0) {
    std::fprintf(stderr,
                 "error: %lld messages are still in the outbox (broker unavailable?); the next "
                 "run, or `user-export relay`, delivers them\n",
                 static_cast<long long>(result.relay.pending));
  }
  result.exit_code = (failed > 0 || result.relay.pending > 0) ? kExitFailed : kExitOk;
  if (options.stop != nullptr && options.stop->stop_claiming) {
    int not_started = 0;
    for (const auto& g : result.groups) {
      if (g.outcome == GroupOutcome::kSkipped && g.error.rfind("not started", 0) == 0) {
        ++not_started;
      }
    }
    const auto finished = groups.size() - static_cast<std::size_t>(failed + not_started);
    std::fprintf(stderr,
                 "interrupted by %s: %zu groups finished, %d stopped, %d not started; their "
                 "claims are kept and the next run resumes them; %lld messages wait in the "
                 "outbox for the next run or `user-export relay`\n",
                 options.stop->reason(), finished, failed, not_started,
                 static_cast<long long>(result.relay.pending));
    log::warn("export interrupted", {{"signal", options.stop->reason()},
                                     {"groups_finished", finished},
                                     {"groups_stopped", failed},
                                     {"groups_not_started", not_started},
                                     {"messages_pending", result.relay.pending}});
    result.exit_code = kExitInterrupted;
  }
  return result;
}

}  // namespace user_export
