#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/run.hpp"

namespace user_export {

/// What the admin endpoints do, supplied by the daemon (or a test). Called from the server's
/// connection threads, possibly at the same time.
struct AdminHooks {
  /// Empty when ready; else why not (database unreachable, shutting down). For GET /readyz.
  std::function<std::optional<std::string>()> not_ready;
  /// The Prometheus text of every metric. For GET /metrics.
  std::function<std::string()> metrics_text;
  /// The newest runs, at most `limit`. For GET /api/runs.
  std::function<std::vector<ExportRun>(std::size_t limit)> recent_runs;
  /// GET /api/runs/{id}: the run's JSON (run, messages, actions), nullopt for an unknown run.
  /// `id` is canonical (lower-case UUID).
  std::function<std::optional<std::string>(const RunId& id)> run_detail;
  /// POST /api/runs/{id}/replay?reason=… and …/reexport?reason=…: the action's answer as JSON,
  /// nullopt for an unknown run; Error(kInvalidInput) when the run cannot take it.
  std::function<std::optional<std::string>(const RunId& id, const std::string& action,
                                           const std::string& reason, const std::string& actor)>
      run_action;
  /// POST /api/pause.
  std::function<void()> pause;
  /// POST /api/resume.
  std::function<void()> resume;
  /// POST /api/trigger[?group=ID]; throws Error(kInvalidInput) for a malformed or unknown group.
  std::function<void(std::optional<std::string> group)> trigger;
  /// GET /api/plan[?group=ID]: the JSON array `user-export plan --json` prints, for every
  /// active group or the one given; throws Error(kInvalidInput) for a malformed or unknown group.
  std::function<std::string(std::optional<std::string> group)> plan;
};

/// One request as the routes see it: no HTTP library types.
struct AdminRequest {
  std::string method;  ///< GET, POST, …
  std::string path;    ///< without the query
  std::map<std::string, std::string> query;
  std::optional<std::string> authorization;  ///< the Authorization header, if sent
  std::string peer;                          ///< the client's address, for audit
};

/// One answer.
struct AdminReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type
};

/// The admin endpoints: GET /healthz, /readyz, /metrics (open), GET /api/runs,
/// /api/runs/{id}, /api/plan and POST /api/runs/{id}/replay, /api/runs/{id}/reexport,
/// /api/pause, /api/resume, /api/trigger (all need `Authorization: Bearer <token>`: 401
/// otherwise, 403 for every /api/* when no token is configured). A refused request changes
/// nothing and reads nothing.
class AdminRoutes {
 public:
  AdminRoutes(std::string token, AdminHooks hooks);

  /// The answer that ends the request as soon as its headers are known (unknown path, wrong
  /// method, missing or wrong token), or nullopt when it may go on to its body and handle().
  std::optional<AdminReply> refusal(const AdminRequest& request) const;
  /// The full answer (refusal() included).
  AdminReply handle(const AdminRequest& request) const;

 private:
  AdminReply act(const AdminRequest& request) const;
  /// GET /api/runs/{id} (`action` empty) and POST /api/runs/{id}/{action}.
  AdminReply act_on_run(const std::string& id, const std::string& action,
                        const AdminRequest& request) const;

  std::string token_;
  AdminHooks hooks_;
};

/// A JSON answer `{"error": text}` with `status`.
AdminReply error_reply(int status, const std::string& text);

}  // namespace user_export
