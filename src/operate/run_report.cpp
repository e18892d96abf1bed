#include "operate/run_report.hpp"

#include <chrono>

#include "common/time_format.hpp"

namespace user_export {

nlohmann::json run_json(const ExportRun& r) {
  return {
      {"runId", r.run_id.str()},
      {"groupId", r.group_id.str()},
      {"slot", format_iso8601(SystemTime{r.slot})},
      {"state", to_string(r.state)},
      {"users", r.item_count},
      {"rows", r.rows},
      {"bytes", r.bytes},
      {"sha256", r.sha256},
      {"attempts", r.attempts},
      {"leaseOwner", r.lease_owner.str()},
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

nlohmann::json message_json(const RunMessage& m) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : m.headers) headers[name] = value;
  // The payload is stored as the JSON text that was (or will be) sent; shown parsed so the
  // answer stays one JSON document, or as the raw text should it ever not parse.
  nlohmann::json payload = nlohmann::json::parse(m.payload, nullptr, false);
  if (payload.is_discarded()) payload = m.payload;
  return {{"outboxId", m.outbox_id},
          {"seq", m.seq},
          {"topic", m.topic},
          {"key", m.key},
          {"state", m.state},
          {"attempts", m.attempts},
          {"lastError", m.last_error},
          {"createdAt", format_iso8601_ms(m.created_at)},
          {"publishedAt", m.published_at ? nlohmann::json(format_iso8601_ms(*m.published_at))
                                         : nlohmann::json(nullptr)},
          {"headers", std::move(headers)},
          {"payload", std::move(payload)}};
}

nlohmann::json run_detail_json(const ExportRun& run, const std::vector<RunAction>& actions,
                               const std::vector<RunMessage>& messages) {
  nlohmann::json out = run_json(run);
  out["actions"] = nlohmann::json::array();
  for (const auto& a : actions) out["actions"].push_back(action_json(a));
  out["messages"] = nlohmann::json::array();
  for (const auto& m : messages) out["messages"].push_back(message_json(m));
  return out;
}

std::string runs_table(const std::vector<ExportRun>& runs) {
  std::string out =
      "RUN                                   GROUP                                 "
      "STATE      USERS     ROWS  CREATED\n";
  for (const auto& r : runs) {
    char line[512];
    std::snprintf(line, sizeof line, "%-37s %-37s %-9s %6lld %8lld  %s\n", r.run_id.str().c_str(),
                  r.group_id.str().c_str(), to_string(r.state),
                  static_cast<long long>(r.item_count), static_cast<long long>(r.rows),
                  format_iso8601(r.created_at).c_str());
    out += line;
  }
  return out;
}

}  // namespace user_export
