#include "source/sqlite/sqlite_connection.hpp"

#include <filesystem>

#include "source/sqlite/private_files.hpp"

namespace user_export::sqlite {
namespace {

/// Pause between two attempts to switch a new database to WAL while another process does.
constexpr int kWalSwitchRetryMs = 5;

std::string hint_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another connection held the lock for too long; retry later";
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return "check that the file and its directory exist and are writable by this user";
    case SQLITE_FULL:
      return "the disk is full; free space and retry";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is not a valid SQLite database; restore it or point the URL elsewhere";
    case SQLITE_CONSTRAINT:
      return "the data violates a constraint of the schema";
    default:
      return "see the SQLite message above";
  }
}

}  // namespace

void throw_sqlite_error(sqlite3* db, int rc, std::string_view operation, const std::string& path) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  const bool retriable = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
  throw Error(ErrorCode::kDatabase,
              "SQLite could not " + std::string(operation) + " in " + path + ": " + message +
                  " (code " + std::to_string(rc) + "); " + hint_for(rc),
              retriable);
}

std::int64_t to_millis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime from_millis(std::int64_t ms) {
  return SystemTime{
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds{ms})};
}

// ---- Statement ----

Statement::Statement(sqlite3_stmt* stmt, Connection& conn, std::string_view operation)
    : stmt_(stmt), conn_(conn), operation_(operation) {}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_sqlite_error(conn_.handle(), rc, operation_, conn_.path());
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_sqlite_error(conn_.handle(), rc, operation_, conn_.path());
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string_view>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_sqlite_error(conn_.handle(), rc, operation_, conn_.path());
  return *this;
}

Statement& Statement::bind_static(int index, const std::optional<std::string_view>& value) {
  if (!value) return bind_null(index);
  int rc =
      sqlite3_bind_text64(stmt_, index, value->data(), value->size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_sqlite_error(conn_.handle(), rc, operation_, conn_.path());
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(conn_.handle(), rc, operation_, conn_.path());
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
}

bool Statement::is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::int64_t Statement::int64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::text(int index) const {
  auto v = view(index);
  return v ? std::string(*v) : std::string();
}

std::optional<std::string_view> Statement::view(int index) const {
  if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nullopt;
  // column_text must come before column_bytes so the length is that of the text form.
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
  if (data == nullptr) return std::string_view();
  return std::string_view(data, size);
}

// ---- Connection ----

Connection::Connection(std::string path, std::chrono::milliseconds busy_timeout, bool read_only)
    : path_(std::move(path)) {
  std::error_code ec;
  const bool open_read_only = read_only && std::filesystem::exists(path_ + "-wal", ec);
  // The database holds users' personal data: no one but its owner may read it.
  if (!read_only) make_database_files_private(path_);
  const int flags = (open_read_only ? SQLITE_OPEN_READONLY
                     : read_only    ? SQLITE_OPEN_READWRITE
                                    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kDatabase,
                "cannot open SQLite database " + path_ + ": " + message + "; " + hint_for(rc));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
  try {
    // WAL lets readers (a long stream) run beside the writer; FULL makes every commit durable
    // (the outbox promise), the cost being one fsync per commit, and commits are few.
    // Switching a new file to WAL while another process does the same can fail with
    // SQLITE_BUSY without consulting the busy handler, so that wait is done here.
    const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
    for (; !open_read_only;) {
      try {
        auto mode = prepare("PRAGMA journal_mode=WAL", "switch to WAL journal mode");
        if (!mode.step() || mode.text(0) != "wal") {
          throw Error(ErrorCode::kDatabase,
                      "SQLite database " + path_ +
                          " cannot use WAL journal mode; put it on a local file system");
        }
        break;
      } catch (const Error& e) {
        if (!e.retriable() || std::chrono::steady_clock::now() >= deadline) throw;
        sqlite3_sleep(kWalSwitchRetryMs);
      }
    }
    // 1 MiB of page cache (SQLite's default is 2 MB): a process holds several connections
    // (workers, lease keepers, the relay), and four id-list groups of 2.5M users side by side
    // stayed under the 64 MB bound only with it; the exports took the same time.
    exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA cache_size=-1024",
         "configure the connection");
  } catch (...) {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
    throw;
  }
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Statement Connection::prepare(const std::string& sql, std::string_view operation) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, operation, path_);
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, *this, operation);
}

void Connection::exec(const char* sql, std::string_view operation) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, operation, path_);
}

std::int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}

std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void Connection::rollback_quietly() noexcept {
  if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Connection::release_memory() noexcept {
  sqlite3_db_release_memory(db_);
}

// ---- ConnectionPool ----

ConnectionPool::Handle::~Handle() {
  if (conn_) pool_->release(std::move(conn_));
}

ConnectionPool::ConnectionPool(std::string path, std::size_t max_idle,
                               std::chrono::milliseconds busy_timeout, bool read_only)
    : path_(std::move(path)),
      max_idle_(max_idle),
      busy_timeout_(busy_timeout),
      read_only_(read_only) {}

ConnectionPool::Handle ConnectionPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Handle(*this, std::move(conn));
    }
  }
  return Handle(*this, std::make_unique<Connection>(path_, busy_timeout_, read_only_));
}

void ConnectionPool::release(std::unique_ptr<Connection> conn) {
  // A connection left inside a transaction (an error path that could not roll back) is closed
  // rather than reused, so the next caller never inherits someone else's transaction.
  conn->rollback_quietly();
  if (conn->in_transaction()) return;
  // An idle connection's cached pages are of little use: another connection's write makes the
  // next transaction discard them. Kept, they made up most of the heap of four groups exported
  // side by side (up to 2 MB for each of the connections the workers, keepers and relay use).
  conn->release_memory();
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace user_export::sqlite
