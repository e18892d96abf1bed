#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace user_export::pg {

/// A query parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

/// Owns one PGresult. Move-only; frees the result on destruction.
class Result {
 public:
  /// Takes ownership of `result` (may be null).
  explicit Result(PGresult* result = nullptr) : result_(result) {}
  Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  /// The raw result (may be null); still owned by this object.
  const PGresult* get() const { return result_; }
  /// Number of rows returned.
  int rows() const;
  /// Whether the value at (row, col) is SQL NULL.
  bool is_null(int row, int col) const;
  /// The text of (row, col); empty for NULL. Valid while this Result lives.
  std::string_view view(int row, int col) const;
  /// The text of (row, col) copied; empty for NULL.
  std::string text(int row, int col) const { return std::string(view(row, col)); }
  /// The value of (row, col) parsed as a 64-bit integer; throws Error(kDatabase) if it is not.
  std::int64_t int64(int row, int col) const;
  /// Rows affected by an INSERT/UPDATE/DELETE (PQcmdTuples).
  std::int64_t affected() const;

 private:
  PGresult* result_;
};

/// One libpq connection in UTF-8. Not thread-safe: one thread uses it at a time (the Pool hands
/// it to one caller). Every failure throws Error(kDatabase), retriable when the connection broke,
/// a lock or statement timed out, the server is shutting down, or a deadlock or serialization
/// failure was detected.
class Connection {
 public:
  /// Connects to `uri` (a libpq connection URI). Defaults for application_name (user-export),
  /// connect_timeout (10 s) and TCP keepalives (30 s idle, 3 probes 10 s apart) apply unless the
  /// URI sets them; client_encoding is always UTF8. Throws Error(kDatabase) naming the server
  /// when it cannot connect, retriable unless authentication or the database name is wrong.
  explicit Connection(const std::string& uri);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Runs one or more statements without parameters; returns the last result.
  Result exec(const std::string& sql);
  /// Runs one statement with text parameters $1..$n.
  Result exec(const std::string& sql, const std::vector<Param>& params);

  /// Runs `COPY (…) TO STDOUT` and calls `on_line` with each data line (without its newline)
  /// in a buffer the callee may modify in place; the buffer is valid only during the call. If
  /// `on_line` throws, the connection is marked broken (it is mid-COPY) and the exception
  /// propagates.
  void copy_out(const std::string& sql, const std::function<void(char*, std::size_t)>& on_line);

  /// Starts `COPY … FROM STDIN`; follow with copy_put() and copy_end().
  void copy_begin(const std::string& sql);
  /// Sends a block of COPY data (whole lines).
  void copy_put(std::string_view data);
  /// Ends the COPY successfully and checks the server's result.
  void copy_end();

  /// Whether the connection is healthy and idle outside a transaction (fit to be pooled again).
  bool reusable() const;
  /// Whether a transaction is open (or failed and not yet rolled back).
  bool in_transaction() const;
  /// Marks the connection unusable (e.g. abandoned mid-COPY); the pool closes it.
  void mark_broken() { broken_ = true; }
  /// The server process id of this session (pg_backend_pid()).
  int backend_pid() const;
  /// The raw handle, for libpq calls not wrapped here.
  PGconn* raw() { return conn_; }

 private:
  /// Throws the Error for a failed `what`; `lost` forces "connection lost" (retriable).
  [[noreturn]] void fail(const PGresult* result, std::string_view what, bool lost = false);
  /// Collects the results that end a COPY and throws if any failed.
  void finish(std::string_view what);
  Result check(PGresult* result, std::string_view what);

  PGconn* conn_ = nullptr;
  bool broken_ = false;
};

/// Whether a SQLSTATE names a condition worth retrying (connection, lock, deadlock, shutdown).
bool is_retriable_sqlstate(std::string_view sqlstate);

/// How long a transaction of this program may sit idle between its statements before the server
/// ends its session. A healthy transaction here never waits on anything but the server, so only
/// a stalled process (paused, swapping, stopped in a debugger) reaches it; its row and advisory
/// locks are then released and other instances take the runs over instead of waiting for it
/// (docs/ARCHITECTURE.md, "One writer per run").
inline constexpr std::chrono::milliseconds kIdleInTransactionLimit{15000};

/// Runs statements in one transaction: BEGIN on construction, ROLLBACK on destruction unless
/// commit() succeeded. Not thread-safe.
class Transaction {
 public:
  /// Begins a transaction on `connection`, which must outlive this object, that the server
  /// ends (with its session) once it sits idle longer than `idle_limit` (0: never).
  explicit Transaction(Connection& connection,
                       std::chrono::milliseconds idle_limit = kIdleInTransactionLimit);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  /// Commits; throws Error(kDatabase) if the server refuses.
  void commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

}  // namespace user_export::pg
