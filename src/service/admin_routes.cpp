#include "service/admin_routes.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace user_export {
namespace {

constexpr const char* kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";

AdminReply json_reply(int status, const nlohmann::json& body) {
  AdminReply reply;
  reply.status = status;
  reply.body = body.dump() + "\n";
  return reply;
}

AdminReply text_reply(int status, std::string body, std::string type = "text/plain") {
  AdminReply reply;
  reply.status = status;
  reply.content_type = std::move(type);
  reply.body = std::move(body);
  return reply;
}

/// Compares without an early exit, so timing does not tell how much of a token was right.
bool same_token(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return diff == 0;
}

/// The methods a path answers, or empty for an unknown path.
std::vector<std::string> methods_of(const std::string& path) {
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/api/runs" ||
      path == "/api/plan") {
    return {"GET"};
  }
  if (path == "/api/pause" || path == "/api/resume" || path == "/api/trigger") return {"POST"};
  return {};
}

}  // namespace

AdminReply error_reply(int status, const std::string& text) {
  return json_reply(status, {{"error", text}});
}

std::string runs_json(const std::vector<ExportRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : runs) {
    out.push_back({
        {"runId", r.run_id},
        {"groupId", r.group_id.str()},
        {"slot", format_iso8601(SystemTime{r.slot})},
        {"state", to_string(r.state)},
        {"users", r.item_count},
        {"rows", r.rows},
        {"bytes", r.bytes},
        {"attempts", r.attempts},
        {"leaseOwner", r.lease_owner},
        {"objectKey", r.object_key},
        {"error", r.last_error},
        {"createdAt", format_iso8601_ms(r.created_at)},
        {"updatedAt", format_iso8601_ms(r.updated_at)},
        {"seconds", std::chrono::duration<double>(r.updated_at - r.created_at).count()},
    });
  }
  return out.dump();
}

AdminRoutes::AdminRoutes(std::string token, AdminHooks hooks)
    : token_(std::move(token)), hooks_(std::move(hooks)) {}

std::optional<AdminReply> AdminRoutes::refusal(const AdminRequest& request) const {
  const auto methods = methods_of(request.path);
  if (methods.empty()) return error_reply(404, "no such endpoint: " + request.path);
  const bool head_of_get = request.method == "HEAD" && methods.front() == "GET";
  if (std::find(methods.begin(), methods.end(), request.method) == methods.end() && !head_of_get) {
    AdminReply reply = error_reply(405, request.path + " answers " + methods.front() + " only");
    reply.headers.emplace_back("Allow", methods.front());
    return reply;
  }
  if (!request.path.starts_with("/api/")) return std::nullopt;
  if (token_.empty()) {
    return error_reply(403,
                       "the /api endpoints are disabled because no admin token is configured; "
                       "set USER_EXPORT_ADMIN_TOKEN and restart");
  }
  const std::string prefix = "Bearer ";
  const std::string& header = request.authorization.value_or("");
  if (!header.starts_with(prefix) || !same_token(header.substr(prefix.size()), token_)) {
    AdminReply reply = error_reply(401,
                                   "missing or wrong bearer token; send Authorization: Bearer "
                                   "<token> with the value of USER_EXPORT_ADMIN_TOKEN");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    return reply;
  }
  return std::nullopt;
}

AdminReply AdminRoutes::handle(const AdminRequest& request) const {
  if (auto refused = refusal(request)) return *refused;
  try {
    return act(request);
  } catch (const Error& e) {
    return error_reply(e.code() == ErrorCode::kInvalidInput ? 400 : 500, e.what());
  } catch (const std::exception& e) {
    return error_reply(500, e.what());
  }
}

AdminReply AdminRoutes::act(const AdminRequest& request) const {
  const std::string& path = request.path;
  if (path == "/healthz") return text_reply(200, "ok\n");
  if (path == "/readyz") {
    if (auto why = hooks_.not_ready()) return text_reply(503, "not ready: " + *why + "\n");
    return text_reply(200, "ready\n");
  }
  if (path == "/metrics") return text_reply(200, hooks_.metrics_text(), kPrometheusType);
  if (path == "/api/runs") {
    std::size_t limit = 100;
    if (auto it = request.query.find("limit"); it != request.query.end()) {
      try {
        std::size_t used = 0;
        const unsigned long value = std::stoul(it->second, &used);
        if (used != it->second.size()) throw std::invalid_argument("trailing text");
        limit = std::clamp<std::size_t>(value, 1, 10000);
      } catch (const std::exception&) {
        return error_reply(400, "limit must be a number between 1 and 10000");
      }
    }
    return text_reply(200, runs_json(hooks_.recent_runs(limit)) + "\n", "application/json");
  }
  if (path == "/api/plan") {
    std::optional<std::string> group;
    if (auto it = request.query.find("group"); it != request.query.end()) group = it->second;
    return text_reply(200, hooks_.plan(group) + "\n", "application/json");
  }
  if (path == "/api/pause") {
    hooks_.pause();
    return json_reply(200, {{"paused", true}});
  }
  if (path == "/api/resume") {
    hooks_.resume();
    return json_reply(200, {{"paused", false}});
  }
  // /api/trigger
  std::optional<std::string> group;
  if (auto it = request.query.find("group"); it != request.query.end()) group = it->second;
  hooks_.trigger(group);
  return json_reply(202,
                    {{"triggered", true}, {"group", group ? nlohmann::json(*group) : nullptr}});
}

}  // namespace user_export
