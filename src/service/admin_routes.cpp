#include "service/admin_routes.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "operate/run_report.hpp"
#include "source/repository.hpp"

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

constexpr std::string_view kRunsPrefix = "/api/runs/";

/// A path under /api/runs/: the run id as given and the action after it ("" for none).
struct RunPath {
  std::string id;
  std::string action;
};

std::optional<RunPath> run_path(const std::string& path) {
  if (!path.starts_with(kRunsPrefix)) return std::nullopt;
  const std::string rest = path.substr(kRunsPrefix.size());
  const auto slash = rest.find('/');
  RunPath out{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  if (out.id.empty()) return std::nullopt;
  if (!out.action.empty() && out.action != "replay" && out.action != "reexport") {
    return std::nullopt;
  }
  return out;
}

/// The methods a path answers, or empty for an unknown path.
std::vector<std::string> methods_of(const std::string& path) {
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/api/runs" ||
      path == "/api/plan") {
    return {"GET"};
  }
  if (path == "/api/pause" || path == "/api/resume" || path == "/api/trigger") return {"POST"};
  if (auto run = run_path(path)) return {run->action.empty() ? "GET" : "POST"};
  return {};
}

}  // namespace

AdminReply error_reply(int status, const std::string& text) {
  return json_reply(status, {{"error", text}});
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
    return text_reply(200, runs_json(hooks_.recent_runs(limit)).dump() + "\n", "application/json");
  }
  if (auto run = run_path(path)) return act_on_run(run->id, run->action, request);
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

AdminReply AdminRoutes::act_on_run(const std::string& given_id, const std::string& action,
                                   const AdminRequest& request) const {
  const RunId id = RunId::parse(given_id);  // 400 naming a malformed id
  const std::string unknown = "there is no run " + id.str();
  if (action.empty()) {
    auto detail = hooks_.run_detail(id);
    if (!detail) return error_reply(404, unknown);
    return text_reply(200, *detail + "\n", "application/json");
  }
  std::string reason;
  if (auto it = request.query.find("reason"); it != request.query.end()) reason = it->second;
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return error_reply(
        400, "POST " + request.path + " needs a reason: add ?reason=… (it is kept for audit)");
  }
  const std::string actor =
      "admin-api:" + (request.peer.empty() ? std::string("unknown") : request.peer);
  auto answer = hooks_.run_action(id, action, reason, actor);
  if (!answer) return error_reply(404, unknown);
  return text_reply(200, *answer + "\n", "application/json");
}

}  // namespace user_export
