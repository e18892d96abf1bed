#include "source/postgres/pg_pool.hpp"

#include <algorithm>

namespace user_export::pg {

Pool::Lease::~Lease() {
  if (pool_ && connection_) pool_->release(std::move(connection_));
}

Pool::Pool(std::string uri, std::size_t size)
    : uri_(std::move(uri)), size_(std::max<std::size_t>(size, 1)) {}

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mu_);
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  try {
    return Lease(this, std::make_unique<Connection>(uri_));
  } catch (...) {
    lock.lock();
    --open_;
    throw;
  }
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
  if (connection->reusable() && idle_.size() < size_) {
    idle_.push_back(std::move(connection));
    return;
  }
  --open_;
  lock.unlock();
  connection.reset();  // Closes the session outside the lock.
}

}  // namespace user_export::pg
