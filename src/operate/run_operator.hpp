#pragma once

// The audited actions an operator takes on a finished run — replay its messages, re-export its
// users — for the CLI and the admin API alike (docs/OPERATIONS.md).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "source/run_history.hpp"

namespace user_export {

/// Who runs a command on this machine: `cli:<user>@<host>`.
std::string cli_actor();

/// What an action did.
struct RunActionOutcome {
  ExportRun run;           ///< the run as it was before the action
  std::int64_t count = 0;  ///< messages queued again, or users set back to unsent
};

/// Replays and re-exports runs through a Repository, logging each action (run, group, actor,
/// reason, count) at info level for audit besides the record the repository keeps.
class RunOperator {
 public:
  explicit RunOperator(RunHistory& repository) : repository_(repository) {}

  /// The run `run_id` (RunId::parse() made it canonical), nullopt when there is no such run.
  std::optional<ExportRun> find(const RunId& run_id);
  /// run_detail_json() of the run, nullopt when there is no such run.
  std::optional<nlohmann::json> detail(const RunId& run_id);
  /// `action` ("replay" or "reexport") on the run, answered as JSON (runId, groupId, action,
  /// messages or users); nullopt when there is no such run.
  std::optional<nlohmann::json> act(const RunId& run_id, const std::string& action,
                                    const std::string& actor, const std::string& reason);
  /// Repository::replay_run(), logged. Error(kInvalidInput) as it throws, also for an unknown
  /// run.
  RunActionOutcome replay(const RunId& run_id, const std::string& actor, const std::string& reason);
  /// Repository::reexport_run(), logged. Errors as replay().
  RunActionOutcome reexport(const RunId& run_id, const std::string& actor,
                            const std::string& reason);

 private:
  ExportRun require(const RunId& run_id);

  RunHistory& repository_;
};

}  // namespace user_export
