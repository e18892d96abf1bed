#pragma once

// A plain-socket HTTP client for the admin server's tests: it can send what a real client
// would not (a slow request, a lying Content-Length, thousands of headers) from a chosen
// loopback address (any of 127.0.0.0/8 reaches a server bound to 127.0.0.1).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

namespace user_export::testing {

/// A connected socket (closed on destruction); fd -1 when the connection failed.
class RawConnection {
 public:
  RawConnection(int port, const char* from = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from, &local.sin_addr);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(RawConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  /// Sends all of `data` unless the peer closes or `timeout` passes; returns the bytes sent.
  std::size_t send_text(const std::string& data,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLOUT, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n =
          ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        break;
      }
      sent += static_cast<std::size_t>(n);
    }
    return sent;
  }

  /// Everything the server sends until it closes the connection or `timeout` passes;
  /// nullopt when nothing at all came.
  std::optional<std::string> read_all(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out;
    char buf[16384];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  /// Whether the server has closed (or reset) the connection within `timeout`.
  bool closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
  }

 private:
  int fd_ = -1;
};

/// The status code of a raw HTTP answer ("HTTP/1.1 413 …"), or 0.
inline int status_of(const std::optional<std::string>& answer) {
  if (!answer || answer->size() < 12 || !answer->starts_with("HTTP/1.")) return 0;
  return std::stoi(answer->substr(9, 3));
}

/// The body of a raw HTTP answer (after the blank line).
inline std::string body_of(const std::optional<std::string>& answer) {
  if (!answer) return {};
  const auto end = answer->find("\r\n\r\n");
  return end == std::string::npos ? std::string() : answer->substr(end + 4);
}

/// One whole request and its answer.
inline std::optional<std::string> exchange(int port, const std::string& request,
                                           const char* from = "127.0.0.1") {
  RawConnection c(port, from);
  if (!c.connected()) return std::nullopt;
  c.send_text(request);
  return c.read_all();
}

/// This process's resident memory in KiB (VmRSS of /proc/self/status).
inline long resident_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace user_export::testing
