#pragma once

#include <string>

namespace user_export {

/// A listening TCP socket on `addr` (`host:port`, `[v6]:port`; port 0 picks a free one), with
/// SO_REUSEADDR only (SO_REUSEPORT would let a second instance share the port instead of
/// failing to start). Throws Error(kConfig) when it cannot be bound. The caller owns the fd.
struct ListenSocket {
  int fd = -1;
  int port = 0;
  std::string host;  ///< as it was bound, without brackets
};
ListenSocket listen_on(const std::string& addr);

}  // namespace user_export
