#include "source/postgres/pg_pool.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"

namespace user_export::pg {

Pool::Lease::~Lease() {
  if (pool_ && connection_) pool_->release(std::move(connection_));
}

Pool::Pool(std::string uri, std::size_t size, std::chrono::milliseconds wait)
    : uri_(std::move(uri)), size_(std::max<std::size_t>(size, 1)), wait_(wait) {}

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mu_);
  const bool available =
      returned_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; });
  if (!available) {
    throw Error(ErrorCode::kDatabase,
                "all " + std::to_string(size_) +
                    " PostgreSQL connections of this process were in use for " +
                    std::to_string(wait_.count() / 1000) +
                    " s; raise [database] pool_size (it must exceed export.max_parallel_groups)",
                true);
  }
  return lend(lock);
}

std::optional<Pool::Lease> Pool::try_acquire(std::size_t keep_free) {
  std::unique_lock lock(mu_);
  const std::size_t on_loan = open_ - idle_.size();
  if (on_loan + 1 + keep_free > size_) return std::nullopt;
  return lend(lock);
}

Pool::Lease Pool::lend(std::unique_lock<std::mutex>& lock) {
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_;
  peak_ = std::max(peak_, open_);
  lock.unlock();
  try {
    return Lease(this, std::make_unique<Connection>(uri_));
  } catch (...) {
    lock.lock();
    --open_;
    lock.unlock();
    returned_.notify_one();
    throw;
  }
}

std::size_t Pool::peak_connections() {
  std::lock_guard lock(mu_);
  return peak_;
}

std::size_t Pool::open_connections() {
  std::lock_guard lock(mu_);
  return open_;
}

void Pool::release(std::unique_ptr<Connection> connection) {
  // A caller that threw mid-transaction leaves it open; roll it back before reuse.
  if (!connection->reusable() && connection->in_transaction()) {
    try {
      connection->exec("ROLLBACK");
    } catch (...) {
      connection->mark_broken();
    }
  }
  std::unique_lock lock(mu_);
  if (connection->reusable()) {
    idle_.push_back(std::move(connection));
    lock.unlock();
    returned_.notify_one();
    return;
  }
  lock.unlock();
  connection.reset();  // Closes the session outside the lock.
  lock.lock();
  --open_;
  lock.unlock();
  returned_.notify_one();
}

}  // namespace user_export::pg
