#pragma once

#include <memory>
#include <string>

#include "service/admin_limits.hpp"
#include "service/admin_routes.hpp"

struct MHD_Daemon;

namespace user_export {

class ConnectionDeadlines;

/// The admin HTTP endpoint (AdminRoutes) on libmicrohttpd, within AdminLimits: every request
/// is decided on its headers first — unknown path, wrong method, missing token, a body larger
/// than the limit, too many or too large headers — and refused before any body is read. One
/// request per connection (answers carry `Connection: close`), no ranges. Serves on its own
/// threads from start() until stop() (or destruction).
class AdminServer {
 public:
  /// `addr` is `host:port` (`[v6]:port` too; port 0 picks a free one).
  AdminServer(std::string addr, std::string token, AdminHooks hooks, AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// Binds and starts serving; throws Error(kConfig) when the address cannot be bound.
  void start();
  /// Stops serving and joins its threads. Idempotent.
  void stop();
  /// The bound port (after start()).
  int port() const { return port_; }

  /// For the server's callbacks only.
  struct Callbacks;

 private:
  std::string addr_;
  AdminRoutes routes_;
  AdminLimits limits_;
  std::unique_ptr<ConnectionDeadlines> deadlines_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace user_export
