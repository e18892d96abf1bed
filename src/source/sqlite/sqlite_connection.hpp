#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "domain/ids.hpp"

namespace user_export::sqlite {

/// Throws Error(kDatabase) for a failed SQLite call. The message names the operation, the
/// database file and SQLite's own message; the error is retriable for SQLITE_BUSY and
/// SQLITE_LOCKED (another connection holds the lock).
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view operation,
                                     const std::string& path);

/// Milliseconds since the Unix epoch, the exporter tables' representation of an instant.
std::int64_t to_millis(SystemTime t);
/// The inverse of to_millis().
SystemTime from_millis(std::int64_t ms);

class Connection;

/// A prepared statement borrowed from a connection's cache. Destroying it resets the statement
/// and clears its bindings so the cache can hand it out again. Not thread-safe: it belongs to
/// the thread that holds its connection.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, Connection& conn, std::string_view operation);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds an integer to the 1-based parameter `index`.
  Statement& bind(int index, std::int64_t value);
  /// Binds text (copied by SQLite).
  Statement& bind(int index, std::string_view value);
  /// Binds text (copied by SQLite).
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  /// Binds text (copied by SQLite).
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  /// Binds a run id or owner as its text (copied by SQLite).
  template <typename Tag>
  Statement& bind(int index, const TextId<Tag>& id) {
    return bind(index, id.view());
  }
  /// Binds text or NULL (copied by SQLite).
  Statement& bind(int index, const std::optional<std::string_view>& value);
  /// Binds NULL.
  Statement& bind_null(int index);
  /// Binds text that the caller keeps alive and unchanged until the next step or reset (the
  /// seed's hot path, which avoids a copy per value).
  Statement& bind_static(int index, const std::optional<std::string_view>& value);

  /// Executes one step: true when a row is available, false when the statement is done.
  bool step();
  /// Executes a statement that returns no rows.
  void run();
  /// Resets the statement (keeping its bindings) so it can be executed again.
  void reset();

  /// Whether column `index` (0-based) of the current row is NULL.
  bool is_null(int index) const;
  /// Column as an integer (0 for NULL).
  std::int64_t int64(int index) const;
  /// Column as text ("" for NULL).
  std::string text(int index) const;
  /// Column as text, nullopt for NULL; valid until the next step or reset.
  std::optional<std::string_view> view(int index) const;

 private:
  sqlite3_stmt* stmt_;
  Connection& conn_;
  std::string_view operation_;
};

/// One SQLite connection with WAL, foreign keys, a busy timeout and a cache of prepared
/// statements. Not thread-safe: a connection is used by one thread at a time (the pool
/// guarantees this).
class Connection {
 public:
  /// Opens (creating if missing) the database file `path`; a locked database is waited for up
  /// to `busy_timeout` before SQLITE_BUSY. `read_only`: for callers that must leave the files
  /// as they are (`plan`, `verify`): while a WAL file exists the connection is opened read-only,
  /// because a read-write connection that closes last would checkpoint the WAL into the
  /// database file; without one a normal connection changes nothing (its empty WAL is removed
  /// at close), where a read-only one would leave its WAL and shared-memory files behind.
  Connection(std::string path, std::chrono::milliseconds busy_timeout, bool read_only = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The raw handle (for error reporting).
  sqlite3* handle() const { return db_; }
  /// The database file.
  const std::string& path() const { return path_; }

  /// A cached prepared statement for `sql`; `operation` names it in error messages and must
  /// outlive the statement (a string literal).
  Statement prepare(const std::string& sql, std::string_view operation);
  /// Executes one or more statements without results (migrations, pragmas, transactions).
  void exec(const char* sql, std::string_view operation);
  /// Rows changed by the most recent INSERT, UPDATE or DELETE.
  std::int64_t changes() const;
  /// The rowid of the most recent successful INSERT.
  std::int64_t last_insert_rowid() const;
  /// Whether a transaction is open.
  bool in_transaction() const;
  /// Rolls back an open transaction, ignoring errors (used while an error propagates).
  /// Frees the page cache this connection holds (SQLite keeps up to 2 MB a connection).
  void release_memory() noexcept;
  void rollback_quietly() noexcept;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

/// Hands out connections, one per concurrent caller, opening new ones on demand and keeping up
/// to `max_idle` idle ones for reuse. Thread-safe. Callers never wait for a connection; SQLite
/// itself serialises writers (BEGIN IMMEDIATE + busy timeout).
class ConnectionPool {
 public:
  /// Returns its connection to the pool when destroyed.
  class Handle {
   public:
    Handle(ConnectionPool& pool, std::unique_ptr<Connection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    ~Handle();
    Handle(Handle&& other) noexcept = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle& operator=(Handle&&) = delete;

    /// The connection.
    Connection& operator*() const { return *conn_; }
    /// The connection.
    Connection* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  /// A pool for the database file `path`; `read_only` as for Connection.
  ConnectionPool(std::string path, std::size_t max_idle, std::chrono::milliseconds busy_timeout,
                 bool read_only = false);

  /// An idle connection, or a new one.
  Handle acquire();

 private:
  void release(std::unique_ptr<Connection> conn);

  std::string path_;
  std::size_t max_idle_;
  std::chrono::milliseconds busy_timeout_;
  bool read_only_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

/// Runs `fn(conn)` inside BEGIN IMMEDIATE ... COMMIT and returns its result. Any exception
/// rolls the transaction back and propagates. A transaction that fails with a retriable error
/// (SQLITE_BUSY after the busy timeout) is retried from the start up to `attempts` times, so
/// `fn` must have no effects outside the database.
template <typename Fn>
auto write_transaction(Connection& conn, std::string_view operation, Fn&& fn, int attempts = 3)
    -> std::invoke_result_t<Fn&, Connection&> {
  for (int attempt = 1;; ++attempt) {
    try {
      conn.exec("BEGIN IMMEDIATE", operation);
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Connection&>>) {
        fn(conn);
        conn.exec("COMMIT", operation);
        return;
      } else {
        auto result = fn(conn);
        conn.exec("COMMIT", operation);
        return result;
      }
    } catch (const Error& e) {
      conn.rollback_quietly();
      if (!e.retriable() || e.code() != ErrorCode::kDatabase || attempt >= attempts) throw;
    } catch (...) {
      conn.rollback_quietly();
      throw;
    }
  }
}

}  // namespace user_export::sqlite
