#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.hpp"

namespace user_export::pg {

/// A pool of at most `size` connections to one database. Thread-safe: acquire() may be called
/// from any thread. Connections are opened lazily and kept for reuse; when all `size` are on
/// loan, acquire() waits for one to come back (up to `wait`, then a retriable error naming
/// `pool_size`), so `pool_size` caps the sessions this process opens. A thread that holds a
/// connection while it needs a second one (a stream whose handler stores id-list parts) is
/// safe as long as the pool has one more connection than such threads: the exporter checks
/// `pool_size > max_parallel_groups` at start-up (docs/POSTGRES.md, "Connections"). A
/// connection that broke (or comes back inside a transaction that cannot be rolled back) is
/// closed instead of being reused, so a server restart costs at most one failed operation per
/// pooled connection.
class Pool {
 public:
  /// A connection on loan; returned to the pool when destroyed. Move-only; not thread-safe.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    /// The borrowed connection.
    Connection& operator*() const { return *connection_; }
    /// The borrowed connection.
    Connection* operator->() const { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  /// A pool of up to `size` (at least 1) connections to `uri`; connects nothing yet.
  /// acquire() waits at most `wait` for a connection when all are on loan.
  Pool(std::string uri, std::size_t size,
       std::chrono::milliseconds wait = std::chrono::seconds(60));
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Borrows an idle connection, opens a new one when none is idle and fewer than size() are
  /// open, or else waits for one to come back. Throws Error(kDatabase) when a new connection
  /// cannot be opened (see Connection), and a retriable Error(kDatabase) when none came back
  /// within the wait.
  Lease acquire();
  /// Borrows a connection only if one is idle or may be opened while more than `keep_free`
  /// others stay available; never waits. For optional work (a claim's snapshot) that must not
  /// take the connections the lease keepers and commits need.
  std::optional<Lease> try_acquire(std::size_t keep_free);
  /// The most connections this pool opens at once.
  std::size_t size() const { return size_; }
  /// The most connections that were open at once (tests, benchmarks).
  std::size_t peak_connections();
  /// Connections open now, idle or on loan.
  std::size_t open_connections();
  /// The URI connections are opened with (may contain a password: never log it).
  const std::string& uri() const { return uri_; }

 private:
  /// Hands out an idle connection or opens one; `lock` holds mu_ and there is room.
  Lease lend(std::unique_lock<std::mutex>& lock);
  void release(std::unique_ptr<Connection> connection);

  std::string uri_;
  std::size_t size_;
  std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + on loan + being opened
  std::size_t peak_ = 0;
};

}  // namespace user_export::pg
