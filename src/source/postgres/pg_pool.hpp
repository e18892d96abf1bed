#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.hpp"

namespace user_export::pg {

/// A bounded pool of connections to one database. Thread-safe: acquire() may be called from any
/// thread; it blocks while `size` connections are in use. Connections are opened lazily and a
/// connection that broke (or is returned inside a transaction that cannot be rolled back) is
/// closed instead of being reused, so a server restart costs one failed operation per
/// connection at most.
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

  /// A pool of at most `size` (at least 1) connections to `uri`; connects nothing yet.
  Pool(std::string uri, std::size_t size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Borrows an idle connection, or opens one if fewer than `size` exist, or waits for one.
  /// Throws Error(kDatabase) (retriable) when a new connection cannot be opened.
  Lease acquire();
  /// The most connections this pool keeps.
  std::size_t size() const { return size_; }
  /// The URI connections are opened with (may contain a password: never log it).
  const std::string& uri() const { return uri_; }

 private:
  void release(std::unique_ptr<Connection> connection);

  std::string uri_;
  std::size_t size_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + on loan + being opened
};

}  // namespace user_export::pg
