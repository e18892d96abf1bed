#include "service/retention.hpp"

#include <string>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {

Retention::Retention(RunHistory& repository, Clock& clock, Metrics& metrics,
                     RetentionOptions options)
    : repository_(repository),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      next_due_(clock.now() + options.first_after) {}

PruneCounts Retention::prune_now() {
  return prune_now(options_.days);
}

PruneCounts Retention::prune_now(int days) {
  if (days < 1) {
    throw Error(ErrorCode::kConfig, "the retention period must be at least 1 day, got " +
                                        std::to_string(days) + "; set [retention] days");
  }
  PruneRequest request;
  request.older_than = clock_.now() - std::chrono::hours(24) * days;
  request.batch_rows = options_.batch_rows;
  request.stop = options_.stop;
  const auto started = clock_.monotonic();
  const PruneCounts counts = repository_.prune(request);
  const double seconds = std::chrono::duration<double>(clock_.monotonic() - started).count();
  log::Fields fields = {{"retention_days", days},
                        {"older_than", format_iso8601(request.older_than)}};
  for (const auto& [table, rows] : counts.by_table()) {
    fields.emplace_back(table, rows);
    metrics_.counter(meters::kPrunedRows, {{"table", std::string(table)}})
        .inc(static_cast<double>(rows));
  }
  fields.emplace_back("seconds", seconds);
  log::info("pruned finished history", fields);
  return counts;
}

bool Retention::run_if_due() {
  const SystemTime now = clock_.now();
  if (now < next_due_) return false;
  try {
    prune_now();
    next_due_ = now + options_.interval;
    return true;
  } catch (const std::exception& e) {
    next_due_ = now + options_.retry_after;
    log::warn("pruning finished history failed; retrying later",
              {{"error", e.what()}, {"retry_in_seconds", options_.retry_after.count()}});
    return false;
  }
}

}  // namespace user_export
