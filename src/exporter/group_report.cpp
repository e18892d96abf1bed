#include "exporter/group_report.hpp"

#include <chrono>
#include <string>

#include "common/time_format.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {

void count_committed(const ExportDeps& deps, const GroupResult& result, bool mark_sent,
                     double attempt_seconds) {
  const Labels glabel{{"group_id", result.group.id.str()}};
  deps.metrics.counter(meters::kBatchProcessed, glabel).inc(static_cast<double>(result.rows));
  if (mark_sent) {
    deps.metrics.counter(meters::kRowsMarked, glabel).inc(static_cast<double>(result.rows));
  }
  deps.metrics.histogram(meters::kBatchDuration, glabel).observe(attempt_seconds);
}

void report_result(const ExportDeps& deps, Slot slot, const GroupResult& result) {
  auto& metrics = deps.metrics;
  const MatchingGroup& group = result.group;
  const std::string gid = group.id.str();
  const Labels labels{{"group_id", gid}, {"group_type", group.type_name}};
  metrics.histogram(meters::kExportDuration, labels).observe(result.seconds);
  if (!result.failed()) {
    const bool already_done = result.outcome == GroupOutcome::kAlreadyDone;
    if (!already_done) {
      metrics.gauge(meters::kLastSuccessTimestamp, {{"group_id", gid}})
          .set(std::chrono::duration<double>(deps.clock.now().time_since_epoch()).count());
    }
    log::info(already_done ? "group export already done for this slot" : "group export finished",
              {{"run_id", result.run_id},
               {"group_id", gid},
               {"slot", format_iso8601(SystemTime{slot})},
               {"group_type", group.type_name},
               {"state", to_string(result.state)},
               {"rows", result.rows},
               {"messages", result.messages},
               {"attempts", result.attempts},
               {"seconds", result.seconds}});
  } else {
    metrics.counter(meters::kExportFailures, labels).inc();
    log::error("group export failed; the claim is kept and the next run resumes it",
               {{"run_id", result.run_id},
                {"group_id", gid},
                {"slot", format_iso8601(SystemTime{slot})},
                {"group_type", group.type_name},
                {"error", result.error}});
  }
}

}  // namespace user_export
