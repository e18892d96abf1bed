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

namespace user_export {

/// How one group's export for one slot ended.
struct GroupResult {
  MatchingGroup group;
  std::string run_id;  ///< empty when no run was claimed
  RunState state = RunState::kClaimed;
  bool ok = false;            ///< committed (or nothing to do); false when it failed
  bool already_done = false;  ///< the slot's run had finished before this call
  bool resumed = false;       ///< an earlier unfinished run was completed
  /// Not exported by this call and not a failure: another instance holds a live lease on the
  /// group's unfinished run (it exports it), another export of this process is exporting the
  /// group, or shutdown began before the group started.
  bool skipped = false;
  std::int64_t rows = 0;
  std::size_t messages = 0;
  std::optional<ExportedFile> file;
  int attempts = 0;
  double seconds = 0;
  std::string error;  ///< the final error when !ok
  std::optional<ErrorCode> error_code;
};

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
  /// One attempt; records the run id and attempt number in `progress` as soon as it has them.
  GroupResult attempt(const MatchingGroup& group, GroupType type, Slot slot, int attempt,
                      GroupResult& progress);
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
