#include "sweep/store_sweep.hpp"

#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {

StoreSweep::StoreSweep(RunHistory& repository, ObjectStore& store, Metrics& metrics,
                       const Clock& clock, SweepOptions options)
    : repository_(repository), store_(store), metrics_(metrics), clock_(clock), options_(options) {}

SweepReport StoreSweep::run() {
  SweepReport report;
  std::vector<ExportRun> runs;
  try {
    runs = repository_.runs_to_sweep(clock_.now() - options_.window, options_.min_bytes,
                                     options_.max_runs);
  } catch (const std::exception& e) {
    log::warn("skipped the start-up sweep of the object store: cannot list the runs",
              {{"error", e.what()}});
    ++report.failures;
    return report;
  }
  const std::string prefix = store_.key_prefix();
  for (const ExportRun& run : runs) {
    ++report.runs;
    const bool finished = run.state != RunState::kClaimed;
    // An unfinished run's latest attempt may be alive (here or in another instance).
    const int last = finished ? run.attempts : run.attempts - 1;
    for (int attempt = 1; attempt <= last; ++attempt) {
      const std::string key =
          object_key_for(prefix, run.domain_id, run.group_id, run.slot, run.run_id, attempt);
      abort_uploads(key, run, report);
      if (key != run.object_key) remove_object(key, run, report);
    }
  }
  auto count = [&](const char* what, int n) {
    metrics_.counter(meters::kSweep, {{"what", what}}).inc(n);
  };
  count("unfinished_uploads", report.uploads_aborted);
  count("objects", report.objects_removed);
  count("failures", report.failures);
  log::info("swept the object store for what dead writers left",
            {{"runs", report.runs},
             {"keys", report.keys},
             {"unfinished_uploads_aborted", report.uploads_aborted},
             {"objects_removed", report.objects_removed},
             {"failures", report.failures}});
  return report;
}

void StoreSweep::abort_uploads(const std::string& key, const ExportRun& run, SweepReport& report) {
  ++report.keys;
  try {
    const int n = store_.abort_unfinished(key);
    report.uploads_aborted += n;
    if (n > 0) {
      log::info(
          "sweep aborted unfinished uploads",
          {{"run_id", run.run_id}, {"group_id", run.group_id.str()}, {"key", key}, {"count", n}});
    }
  } catch (const std::exception& e) {
    ++report.failures;
    log::warn("sweep could not abort the unfinished uploads of a key; the next start tries again",
              {{"run_id", run.run_id}, {"key", key}, {"error", e.what()}});
  }
}

void StoreSweep::remove_object(const std::string& key, const ExportRun& run, SweepReport& report) {
  try {
    if (!store_.exists(key)) return;
    store_.remove(key);
    ++report.objects_removed;
    log::info("sweep removed an object that was never committed",
              {{"run_id", run.run_id}, {"group_id", run.group_id.str()}, {"key", key}});
  } catch (const std::exception& e) {
    ++report.failures;
    log::warn(
        "sweep could not remove an object that was never committed; the next start tries "
        "again",
        {{"run_id", run.run_id}, {"key", key}, {"error", e.what()}});
  }
}

}  // namespace user_export
