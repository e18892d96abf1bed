#include "operate/run_operator.hpp"

#include <pwd.h>
#include <unistd.h>

#include "common/error.hpp"
#include "observe/log.hpp"
#include "operate/run_report.hpp"

namespace user_export {

std::string cli_actor() {
  std::string user;
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else {
    user = "uid" + std::to_string(geteuid());
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return "cli:" + user + "@" + (host[0] != '\0' ? std::string(host) : std::string("localhost"));
}

std::optional<ExportRun> RunOperator::find(const RunId& run_id) {
  return repository_.find_run(run_id);
}

std::optional<nlohmann::json> RunOperator::detail(const RunId& run_id) {
  auto run = repository_.find_run(run_id);
  if (!run) return std::nullopt;
  return run_detail_json(*run, repository_.run_actions(run_id), repository_.run_messages(run_id));
}

std::optional<nlohmann::json> RunOperator::act(const RunId& run_id, const std::string& action,
                                               const std::string& actor,
                                               const std::string& reason) {
  if (!find(run_id)) return std::nullopt;
  const bool replaying = action == "replay";
  if (!replaying && action != "reexport") {
    throw Error(ErrorCode::kInvalidInput, "unknown action '" + action + "' on a run");
  }
  const RunActionOutcome outcome =
      replaying ? replay(run_id, actor, reason) : reexport(run_id, actor, reason);
  return nlohmann::json{{"runId", outcome.run.run_id.str()},
                        {"groupId", outcome.run.group_id.str()},
                        {"action", action},
                        {replaying ? "messages" : "users", outcome.count}};
}

ExportRun RunOperator::require(const RunId& run_id) {
  auto run = repository_.find_run(run_id);
  if (!run) throw_unknown_run(run_id);
  return *run;
}

RunActionOutcome RunOperator::replay(const RunId& run_id, const std::string& actor,
                                     const std::string& reason) {
  RunActionOutcome outcome{require(run_id), 0};
  outcome.count = repository_.replay_run(outcome.run.run_id, actor, reason);
  log::info("replayed a run's messages", {{"run_id", outcome.run.run_id},
                                          {"group_id", outcome.run.group_id.str()},
                                          {"actor", actor},
                                          {"reason", reason},
                                          {"messages", outcome.count}});
  return outcome;
}

RunActionOutcome RunOperator::reexport(const RunId& run_id, const std::string& actor,
                                       const std::string& reason) {
  RunActionOutcome outcome{require(run_id), 0};
  outcome.count = repository_.reexport_run(outcome.run.run_id, actor, reason);
  log::info("set a run's users back to unsent for re-export",
            {{"run_id", outcome.run.run_id},
             {"group_id", outcome.run.group_id.str()},
             {"actor", actor},
             {"reason", reason},
             {"users", outcome.count}});
  return outcome;
}

}  // namespace user_export
