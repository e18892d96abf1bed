#include "operate/run_report.hpp"

#include <chrono>

#include "common/time_format.hpp"

namespace user_export {

nlohmann::json run_json(const ExportRun& r) {
  return {
      {"runId", r.run_id},
      {"groupId", r.group_id.str()},
      {"slot", format_iso8601(SystemTime{r.slot})},
      {"state", to_string(r.state)},
      {"users", r.item_count},
      {"rows", r.rows},
      {"bytes", r.bytes},
      {"sha256", r.sha256},
      {"attempts", r.attempts},
      {"leaseOwner", r.lease_owner},
      {"objectKey", r.object_key},
      {"error", r.last_error},
      {"createdAt", format_iso8601_ms(r.created_at)},
      {"updatedAt", format_iso8601_ms(r.updated_at)},
      {"seconds", std::chrono::duration<double>(r.updated_at - r.created_at).count()},
  };
}

nlohmann::json runs_json(const std::vector<ExportRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : runs) out.push_back(run_json(r));
  return out;
}

nlohmann::json action_json(const RunAction& a) {
  return {{"action", to_string(a.kind)},
          {"actor", a.actor},
          {"reason", a.reason},
          {"count", a.count},
          {"at", format_iso8601_ms(a.at)}};
}

nlohmann::json run_detail_json(const ExportRun& run, const std::vector<RunAction>& actions) {
  nlohmann::json out = run_json(run);
  out["actions"] = nlohmann::json::array();
  for (const auto& a : actions) out["actions"].push_back(action_json(a));
  return out;
}

std::string runs_table(const std::vector<ExportRun>& runs) {
  std::string out =
      "RUN                                   GROUP                                 "
      "STATE      USERS     ROWS  CREATED\n";
  for (const auto& r : runs) {
    char line[512];
    std::snprintf(line, sizeof line, "%-37s %-37s %-9s %6lld %8lld  %s\n", r.run_id.c_str(),
                  r.group_id.str().c_str(), to_string(r.state),
                  static_cast<long long>(r.item_count), static_cast<long long>(r.rows),
                  format_iso8601(r.created_at).c_str());
    out += line;
  }
  return out;
}

}  // namespace user_export
