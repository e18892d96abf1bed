#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "exporter/active_groups.hpp"
#include "exporter/export_deps.hpp"
#include "exporter/file_exporter.hpp"
#include "exporter/group_exporter.hpp"
#include "exporter/group_result.hpp"

namespace user_export {

/// Exports one group for one slot (the seed's UsersExportService + UsersExportProcessor):
/// claim -> export (by group type) -> commit, the whole attempt retried with back-off for
/// retriable errors, timed and counted in the seed's metrics. A failed attempt keeps its claim
/// (resumed by the next attempt or run); nothing is marked unless the commit succeeds.
/// Thread-safe: one instance serves all workers.
class ExportService {
 public:
  explicit ExportService(ExportDeps deps);
  ~ExportService();

  /// Exports `group` for `slot`; never throws for a group failure (it is reported in the
  /// result, logged and counted), so one failing group never stops the others.
  GroupResult export_group(const MatchingGroup& group, Slot slot);

  /// Exports `groups` for `slot` as one batch where the repository supports it
  /// (Repository::claim_batch): the cost-based groups with few enough unsent users get one
  /// claim, one stream into a staged file per group, an upload per group and one commit for
  /// all; every other group, and every group whose part of the batch failed, is then exported
  /// by export_group(). Results in the order of `groups`; like export_group(), never throws.
  /// `on_done` (optional) is called as each group's result is final.
  std::vector<GroupResult> export_batch(const std::vector<MatchingGroup>& groups, Slot slot,
                                        const std::function<void(const GroupResult&)>& on_done);

  /// How many groups one batch of export_batch() takes when `candidates` groups are shared by
  /// `workers` threads: as many as keeps every worker busy, at most `batch_max_groups`; 1 when
  /// the repository cannot batch.
  std::size_t batch_size(std::size_t candidates, std::size_t workers) const;

 private:
  // The steps of one attempt (docs/ARCHITECTURE.md, "The run's steps").

  /// Claim (one transaction): resumes the group's unfinished run for `slot` or records a new
  /// one, taking its lease and a new fencing token. Error(kLeaseLost) when another instance
  /// holds a live lease on the group's run.
  ExportRun claim(const MatchingGroup& group, Slot slot);
  /// Attempt `attempt_no`, begun at `began`, on the `run` it claimed: the run as it was when
  /// already finished, its empty completion, or stream and upload (by the group type's
  /// exporter) and commit, under the run's lease. Throws when the attempt failed, after
  /// after_failure().
  GroupResult attempt(const MatchingGroup& group, GroupType type, const ExportRun& run,
                      int attempt_no, std::chrono::steady_clock::time_point began);
  /// Commit (one transaction, fenced): marks the run's users and makes `outcome`'s messages
  /// deliverable. Throws when it failed; when it found the lease lost, the attempt's object is
  /// removed first (no message will ever name it).
  /// `marking` (optional) is the attempt's commit begun by begin_marking(): finished here, or
  /// when it cannot be, ended before the usual commit.
  void commit(const MatchingGroup& group, const ExportRun& run, ExportOutcome outcome,
              std::unique_ptr<OpenCommit> marking);
  /// Step 4 begun beside step 2 (docs/ARCHITECTURE.md, "Marking while streaming"): the run's
  /// users marked in a transaction left open, where the repository can and the configuration
  /// asks for it; null otherwise (the commit then marks them).
  std::unique_ptr<OpenCommit> begin_marking(const MatchingGroup& group, const ExportRun& run);
  /// After attempt on `run` failed with `e`: counts it, records the failure unless the lease was
  /// lost, and aborts the attempt's unfinished uploads unless shutdown cancelled it.
  void after_failure(const MatchingGroup& group, GroupType type, const ExportRun& run,
                     const std::exception& e);
  /// The metric and log line of a failed attempt that is retried after `delay`.
  void log_retry(const MatchingGroup& group, Slot slot, const RunId& run_id, int attempt_no,
                 const std::exception& e, Duration delay);

  /// The result of a group not started because shutdown began.
  GroupResult not_started(const MatchingGroup& group) const;
  /// The result of a group whose claim was refused with `e` (another instance's live lease);
  /// `run_id` and `attempts` are those of the latest attempt that claimed, if any.
  GroupResult claim_refused(const MatchingGroup& group, const Error& e, const RunId& run_id,
                            int attempts) const;
  /// The result of a group whose last attempt failed with `e` (counting an invalid group type);
  /// `run_id` and `attempts` are those of the latest attempt that claimed, if any.
  GroupResult failed(const MatchingGroup& group, const std::exception& e, const RunId& run_id,
                     int attempts);
  GroupExporter& exporter_for(GroupType type);
  /// Whether shutdown began (ExportDeps::stop_claiming or ::cancel): no new claims.
  bool stopping() const {
    return (deps_.stop_claiming != nullptr && deps_.stop_claiming->load()) ||
           (deps_.cancel != nullptr && deps_.cancel->load());
  }
  /// The result of a group another export of this process holds.
  GroupResult skipped_as_busy(const MatchingGroup& group, Slot slot);

  ExportDeps deps_;
  ActiveGroups active_;
  std::unique_ptr<FileExporter> file_exporter_;
  std::unique_ptr<GroupExporter> id_list_exporter_;
};

}  // namespace user_export
