#include "service/listen_socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace user_export {
namespace {

[[noreturn]] void cannot_listen(const std::string& addr, const std::string& why) {
  throw Error(ErrorCode::kConfig, "cannot listen on admin.addr " + addr + " (" + why +
                                      "); set another host:port with USER_EXPORT_ADMIN_ADDR");
}

}  // namespace

ListenSocket listen_on(const std::string& addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    throw Error(ErrorCode::kConfig, "admin.addr " + addr + " is not host:port");
  }
  ListenSocket out;
  out.host = addr.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port = addr.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc =
          getaddrinfo(out.host.empty() ? nullptr : out.host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    cannot_listen(addr, gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // A deep backlog: a burst of connections (accepted and closed past the caps) must not make
    // the next client wait for a SYN retransmission, a second or more.
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      out.port =
          ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      out.fd = fd;
      break;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  if (out.fd < 0) cannot_listen(addr, why);
  return out;
}

}  // namespace user_export
