#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/run.hpp"

namespace httplib {
class Server;
}  // namespace httplib

namespace user_export {

/// What the admin endpoints do, supplied by the daemon (or a test).
struct AdminHooks {
  /// Empty when ready; else why not (database unreachable, shutting down). For GET /readyz.
  std::function<std::optional<std::string>()> not_ready;
  /// The Prometheus text of every metric. For GET /metrics.
  std::function<std::string()> metrics_text;
  /// The newest runs, at most `limit`. For GET /api/runs.
  std::function<std::vector<ExportRun>(std::size_t limit)> recent_runs;
  /// POST /api/pause.
  std::function<void()> pause;
  /// POST /api/resume.
  std::function<void()> resume;
  /// POST /api/trigger[?group=ID]; throws Error(kInvalidInput) for a malformed or unknown group.
  std::function<void(std::optional<std::string> group)> trigger;
};

/// The admin HTTP endpoint on cpp-httplib: GET /healthz, /readyz, /metrics, /api/runs; POST
/// /api/pause, /api/resume, /api/trigger. POSTs need `Authorization: Bearer <token>` (401
/// otherwise, nothing changes); with no token configured they answer 403. Serves on its own
/// threads from start() until stop() (or destruction).
class AdminServer {
 public:
  /// `addr` is `host:port` (`[v6]:port` too; port 0 picks a free one).
  AdminServer(std::string addr, std::string token, AdminHooks hooks);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// Binds and starts serving; throws Error(kConfig) when the address cannot be bound.
  void start();
  /// Stops serving and joins its thread. Idempotent.
  void stop();
  /// The bound port (after start()).
  int port() const { return port_; }

 private:
  void routes();

  std::string addr_;
  std::string token_;
  AdminHooks hooks_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

/// The runs as the JSON array GET /api/runs returns (camelCase fields).
std::string runs_json(const std::vector<ExportRun>& runs);

}  // namespace user_export
