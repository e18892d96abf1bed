#pragma once

#include <chrono>
#include <cstddef>

namespace user_export {

/// What one client may cost the admin HTTP server. The defaults are what `user-export run`
/// uses; tests shorten the timeout.
struct AdminLimits {
  /// A request body larger than this is refused with 413 before it is read.
  std::size_t max_body_bytes = 64 * 1024;
  /// Request line and header fields together; more is refused with 431.
  std::size_t max_header_bytes = 16 * 1024;
  /// Header fields per request; more is refused with 431.
  std::size_t max_header_fields = 100;
  /// From accepting a connection until its request is complete (headers and body); a client
  /// that is slower is disconnected. Also the longest pause while an answer is being sent.
  std::chrono::seconds request_timeout{5};
  /// Connections at once; more are accepted and closed at once.
  unsigned max_connections = 64;
  /// Connections at once from one client address, so one client cannot take every slot.
  unsigned max_connections_per_address = 16;
};

}  // namespace user_export
