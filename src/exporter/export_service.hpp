#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "exporter/export_deps.hpp"
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
  /// group's unfinished run (it exports it), or shutdown began before the group started.
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

 private:
  /// One attempt; records the run id and attempt number in `progress` as soon as it has them.
  GroupResult attempt(const MatchingGroup& group, GroupType type, Slot slot, int attempt,
                      GroupResult& progress);
  GroupExporter& exporter_for(GroupType type);

  ExportDeps deps_;
  std::unique_ptr<GroupExporter> file_exporter_;
  std::unique_ptr<GroupExporter> id_list_exporter_;
};

}  // namespace user_export
