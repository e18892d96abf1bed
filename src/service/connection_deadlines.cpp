#include "service/connection_deadlines.hpp"

#include <sys/socket.h>

namespace user_export {

ConnectionDeadlines::ConnectionDeadlines(std::chrono::milliseconds limit)
    : limit_(limit), thread_([this] { watch(); }) {}

ConnectionDeadlines::~ConnectionDeadlines() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ConnectionDeadlines::opened(const void* key, int fd) {
  std::lock_guard lock(mu_);
  open_[key] = Entry{fd, std::chrono::steady_clock::now() + limit_};
  cv_.notify_all();
}

void ConnectionDeadlines::answered(const void* key) {
  std::lock_guard lock(mu_);
  open_.erase(key);
}

void ConnectionDeadlines::closed(const void* key) {
  std::lock_guard lock(mu_);
  open_.erase(key);
}

std::size_t ConnectionDeadlines::cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

void ConnectionDeadlines::watch() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = now + limit_;
    for (auto it = open_.begin(); it != open_.end();) {
      if (it->second.deadline <= now) {
        // Under the lock, so closed() cannot have let the fd be reused yet.
        shutdown(it->second.fd, SHUT_RDWR);
        ++cut_;
        it = open_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    cv_.wait_until(lock, next);
  }
}

}  // namespace user_export
