#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <thread>

namespace user_export {

/// Disconnects a client whose request is not complete within a time limit of its connection
/// being accepted: an inactivity timeout alone lets a client that sends one byte every few
/// seconds keep a connection (and its memory) for hours. A watch thread shuts the socket down
/// (the server then sees the connection end and closes it itself). Thread-safe.
class ConnectionDeadlines {
 public:
  explicit ConnectionDeadlines(std::chrono::milliseconds limit);
  ~ConnectionDeadlines();
  ConnectionDeadlines(const ConnectionDeadlines&) = delete;
  ConnectionDeadlines& operator=(const ConnectionDeadlines&) = delete;

  /// A connection (`key`) on socket `fd` was accepted; its time starts now.
  void opened(const void* key, int fd);
  /// Its request is complete and being answered: no deadline any more.
  void answered(const void* key);
  /// The connection is about to be closed (its fd must not be touched after this returns).
  void closed(const void* key);
  /// How many connections were cut so far.
  std::size_t cut() const;

 private:
  void watch();

  struct Entry {
    int fd;
    std::chrono::steady_clock::time_point deadline;
  };
  const std::chrono::milliseconds limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<const void*, Entry> open_;
  std::size_t cut_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace user_export
