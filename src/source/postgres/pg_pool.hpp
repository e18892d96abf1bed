#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.hpp"

namespace user_export::pg {

/// A pool of connections to one database. Thread-safe: acquire() may be called from any
/// thread. Up to `size` idle connections are kept open for reuse; when all are on loan,
/// acquire() opens another one (closed again when it comes back and `size` are idle), so a
/// thread that holds one connection and needs a second (a stream whose handler extends the
/// lease) can never wait for itself. Concurrency is bounded by the callers' threads (the
/// exporter's workers), not here. Connections are opened lazily, and one that broke (or comes
/// back inside a transaction that cannot be rolled back) is closed instead of being reused, so
/// a server restart costs at most one failed operation per pooled connection.
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

  /// A pool keeping up to `size` (at least 1) idle connections to `uri`; connects nothing yet.
  Pool(std::string uri, std::size_t size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Borrows an idle connection, or opens a new one when none is idle. Throws Error(kDatabase)
  /// when a new connection cannot be opened (see Connection).
  Lease acquire();
  /// The most idle connections this pool keeps.
  std::size_t size() const { return size_; }
  /// Connections open now, idle or on loan.
  std::size_t open_connections();
  /// The URI connections are opened with (may contain a password: never log it).
  const std::string& uri() const { return uri_; }

 private:
  void release(std::unique_ptr<Connection> connection);

  std::string uri_;
  std::size_t size_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + on loan + being opened
};

}  // namespace user_export::pg
