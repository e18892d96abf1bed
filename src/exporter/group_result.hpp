#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "domain/exported_file.hpp"
#include "domain/group.hpp"
#include "domain/run.hpp"

namespace user_export {

/// How one group's export for one slot ended: exactly one of these.
enum class GroupOutcome {
  kExported,     ///< this call committed the run: its users marked, its messages in the outbox
  kAlreadyDone,  ///< the slot's run had finished before this call
  kEmpty,        ///< this call finished the run, which had no user to export
  /// Not exported by this call and not a failure: another instance holds a live lease on the
  /// group's unfinished run (it exports it), another export of this process is exporting the
  /// group, or shutdown began before the group started.
  kSkipped,
  kFailed,  ///< the last attempt failed; the claim is kept and the next run resumes it
};

/// The outcome's name in logs and test messages: "exported", "already_done", "empty",
/// "skipped" or "failed".
const char* to_string(GroupOutcome outcome);

/// How one group's export for one slot ended, and what it produced.
struct GroupResult {
  MatchingGroup group;
  GroupOutcome outcome = GroupOutcome::kFailed;
  RunId run_id;  ///< empty when no run was claimed
  /// The run's state when last read (the CLI reads it again once the relay delivered).
  RunState state = RunState::kClaimed;
  /// The run claimed was an earlier unfinished one, completed by this call. Not an outcome of
  /// its own: a resumed run is exported or empty like a new one.
  bool resumed = false;
  std::int64_t rows = 0;
  std::size_t messages = 0;
  std::optional<ExportedFile> file;
  int attempts = 0;
  double seconds = 0;
  std::string error;  ///< why it failed, or why it was skipped
  std::optional<ErrorCode> error_code;

  /// Whether the export failed (GroupOutcome::kFailed).
  bool failed() const { return outcome == GroupOutcome::kFailed; }
};

}  // namespace user_export
