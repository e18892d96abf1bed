#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/clock.hpp"
#include "observe/metrics.hpp"
#include "source/run_history.hpp"
#include "storage/object_store.hpp"

namespace user_export {

/// What one sweep found and did.
struct SweepReport {
  int runs = 0;             ///< runs visited
  int keys = 0;             ///< object keys whose unfinished uploads were looked for
  int uploads_aborted = 0;  ///< unfinished uploads (S3) or temporary files (local) removed
  int objects_removed = 0;  ///< objects of attempts that were never committed, removed
  int failures = 0;         ///< keys the store could not be asked about (logged)
};

/// Settings of the sweep.
struct SweepOptions {
  /// Finished runs created this long ago or less are visited (unfinished ones always).
  std::chrono::hours window{24 * 7};
  /// Finished runs of one attempt are visited only if their file had at least this many bytes
  /// (the store's multipart threshold: a single PUT leaves nothing behind).
  std::int64_t min_bytes = 0;
  /// At most this many runs, newest first.
  std::size_t max_runs = 5000;
};

/// The start-up sweep of `export` and `run` (docs/ARCHITECTURE.md, "Debris"): walks the keys of
/// the runs the database knows and removes what a process that died (SIGKILL, power loss) left
/// in the store. Only the keys of attempts that can never commit are touched:
///  - an unfinished run: the keys of its attempts before the latest one (a claim fenced them);
///    the latest attempt's are left to whoever resumes the run;
///  - a finished run: the unfinished uploads of every attempt's key, and the objects of every
///    attempt but the committed one (a writer killed between its commit and removing the
///    earlier attempts' objects left them).
/// Prefix listings of stale uploads (AWS S3) stay with the store (`abort_incomplete_after`);
/// this finds them on MinIO too, which lists uploads only for an exact key. Best effort:
/// failures are logged and counted, never thrown, so a sweep cannot stop an export.
class StoreSweep {
 public:
  StoreSweep(RunHistory& repository, ObjectStore& store, Metrics& metrics, const Clock& clock,
             SweepOptions options);

  /// Runs one sweep, logs a summary line, adds to `meters::kSweep` and returns the report.
  SweepReport run();

 private:
  /// Aborts the unfinished uploads of `key`; counts into `report`.
  void abort_uploads(const std::string& key, const ExportRun& run, SweepReport& report);
  /// Removes the object `key`, never committed; counts into `report`.
  void remove_object(const std::string& key, const ExportRun& run, SweepReport& report);

  RunHistory& repository_;
  ObjectStore& store_;
  Metrics& metrics_;
  const Clock& clock_;
  SweepOptions options_;
};

}  // namespace user_export
