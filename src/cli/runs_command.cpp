// `user-export runs`, `runs show`, `replay` and `reexport`: the operator's view of the runs and
// the audited actions on a finished one (docs/OPERATIONS.md).
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "operate/run_operator.hpp"
#include "operate/run_report.hpp"
#include "runtime/runtime.hpp"

namespace user_export {
namespace {

RunFilter filter_from(const RunsOptions& options) {
  RunFilter filter;
  if (options.group) filter.group = GroupId::parse(*options.group);  // names a bad id
  if (options.state) {
    filter.state = parse_run_state(*options.state);
    if (!filter.state) {
      throw Error(ErrorCode::kUsage, "--state '" + *options.state +
                                         "' is not a run state; use claimed, committed, "
                                         "completed or empty");
    }
  }
  if (options.since) {
    filter.since = parse_iso8601(*options.since);
    if (!filter.since) {
      throw Error(ErrorCode::kUsage, "--since '" + *options.since +
                                         "' is not a UTC instant such as 2026-11-25T00:00:00Z");
    }
  }
  filter.limit = options.limit;
  return filter;
}

}  // namespace

int run_runs_command(const CommonOptions& common, const RunsOptions& options) {
  const RunFilter filter = filter_from(options);
  Config config = load_command_config(common);
  Runtime runtime(config);
  runtime.repository->migrate();
  const auto runs = runtime.repository->list_runs(filter);
  if (options.json) {
    std::cout << runs_json(runs).dump(2) << "\n";
  } else {
    std::cout << runs_table(runs);
  }
  return kExitOk;
}

int run_run_show_command(const CommonOptions& common, const std::string& run_id) {
  const RunId id = RunId::parse(run_id);
  Config config = load_command_config(common);
  Runtime runtime(config);
  runtime.repository->migrate();
  auto detail = RunOperator(*runtime.repository).detail(id);
  if (!detail) throw_unknown_run(id);
  std::cout << detail->dump(2) << "\n";
  return kExitOk;
}

int run_replay_command(const CommonOptions& common, const std::string& run_id,
                       const std::string& reason) {
  const RunId id = RunId::parse(run_id);  // a malformed id is refused before anything is opened
  check_run_action_request(cli_actor(), reason);
  Config config = load_command_config(common);
  Runtime runtime(config);
  runtime.repository->migrate();
  RunOperator op(*runtime.repository);
  const RunActionOutcome outcome = op.replay(id, cli_actor(), reason);
  std::cout << "queued " << outcome.count << " message(s) of run " << outcome.run.run_id
            << " (group " << outcome.run.group_id.str()
            << ") again; the relay (`user-export relay` or the service) delivers them\n";
  return kExitOk;
}

int run_reexport_command(const CommonOptions& common, const std::string& run_id,
                         const std::string& reason, bool now) {
  const RunId id = RunId::parse(run_id);
  check_run_action_request(cli_actor(), reason);
  std::string group;
  {
    Config config = load_command_config(common);
    Runtime runtime(config);
    runtime.repository->migrate();
    RunOperator op(*runtime.repository);
    const RunActionOutcome outcome = op.reexport(id, cli_actor(), reason);
    group = outcome.run.group_id.str();
    std::cout << "set " << outcome.count << " user(s) of run " << outcome.run.run_id
              << " back to unsent; "
              << (now ? "exporting group " + group + " now"
                      : "the next export of group " + group + " sends them in a new run")
              << "\n";
  }
  if (!now) return kExitOk;
  return run_export_command(common, {group}, "");
}

}  // namespace user_export
