#include "source/postgres/pg_connection.hpp"

#include <charconv>
#include <cstring>
#include <memory>

#include "common/error.hpp"

namespace user_export::pg {
namespace {

// libpq messages span lines ("…\n\tThis probably means…\n"); one line reads better in logs.
std::string trimmed(const char* message) {
  std::string text;
  for (const char* p = message ? message : ""; *p != '\0'; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (space && (text.empty() || text.back() == ' ')) continue;
    text += space ? ' ' : *p;
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string advice_for(std::string_view sqlstate, bool retriable) {
  if (retriable) return "the operation may be retried";
  if (sqlstate == "42P01" || sqlstate == "42703") {
    return "run `user-export migrate` against this database, or check the schema";
  }
  if (sqlstate == "42501") return "grant the database role access to the exporter's tables";
  return "see the PostgreSQL server log for details";
}

}  // namespace

bool is_retriable_sqlstate(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  if (sqlstate.starts_with("08")) return true;  // connection exception
  return sqlstate == "40001"                    // serialization failure
         || sqlstate == "40P01"                 // deadlock detected
         || sqlstate == "55P03"                 // lock not available (lock_timeout)
         || sqlstate == "57014"                 // statement timeout / cancelled
         || sqlstate == "57P01"                 // terminated by administrator
         || sqlstate == "57P02"                 // crash shutdown
         || sqlstate == "57P03"                 // cannot connect now (starting up)
         || sqlstate == "53300";                // too many connections
}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

Result::~Result() {
  PQclear(result_);
}

int Result::rows() const {
  return result_ ? PQntuples(result_) : 0;
}

bool Result::is_null(int row, int col) const {
  return PQgetisnull(result_, row, col) != 0;
}

std::string_view Result::view(int row, int col) const {
  return {PQgetvalue(result_, row, col), static_cast<std::size_t>(PQgetlength(result_, row, col))};
}

std::int64_t Result::int64(int row, int col) const {
  std::string_view text = view(row, col);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw Error(ErrorCode::kDatabase, "PostgreSQL returned '" + std::string(text) +
                                          "' where an integer was expected; check the schema "
                                          "with `user-export migrate`");
  }
  return value;
}

std::int64_t Result::affected() const {
  const char* text = result_ ? PQcmdTuples(result_) : "";
  std::int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}

Connection::Connection(const std::string& uri) {
  // Entries before the expanded URI are defaults it may override; entries after it win. The
  // keepalives notice a peer that vanished mid-stream within about a minute.
  const char* keys[] = {
      "application_name", "connect_timeout", "keepalives_idle", "keepalives_interval",
      "keepalives_count", "dbname",          "client_encoding", nullptr};
  const char* values[] = {"user-export", "10", "30", "10", "3", uri.c_str(), "UTF8", nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr) {
    throw Error(ErrorCode::kDatabase, "cannot allocate a PostgreSQL connection (out of memory)",
                true);
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(conn_));
    std::string where = std::string(PQhost(conn_) ? PQhost(conn_) : "?") + ":" +
                        (PQport(conn_) ? PQport(conn_) : "?") + "/" +
                        (PQdb(conn_) ? PQdb(conn_) : "?");
    bool auth = message.find("authentication failed") != std::string::npos ||
                message.find("no password supplied") != std::string::npos;
    bool missing = message.find("does not exist") != std::string::npos;
    PQfinish(conn_);
    conn_ = nullptr;
    std::string advice =
        auth      ? "check the user and password (in the URL or PGPASSWORD)"
        : missing ? "check the database and role names in the URL"
                  : "check that the server runs and accepts connections; the attempt may be "
                    "retried";
    throw Error(ErrorCode::kDatabase,
                "cannot connect to PostgreSQL at " + where + ": " + message + "; " + advice,
                !auth && !missing);
  }
}

Connection::~Connection() {
  PQfinish(conn_);
}

void Connection::fail(const PGresult* result, std::string_view what, bool lost) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = result ? trimmed(PQresultErrorMessage(result)) : std::string();
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  lost = lost || PQstatus(conn_) != CONNECTION_OK;
  bool retriable = lost || is_retriable_sqlstate(sqlstate);
  if (lost) broken_ = true;
  std::string text = "PostgreSQL " + std::string(what) + " failed: " + message;
  if (!sqlstate.empty()) text += " (SQLSTATE " + sqlstate + ")";
  if (lost) text += "; the connection was lost";
  text += "; " + advice_for(sqlstate, retriable);
  throw Error(ErrorCode::kDatabase, text, retriable);
}

Result Connection::check(PGresult* raw_result, std::string_view what) {
  Result result(raw_result);
  ExecStatusType status = raw_result ? PQresultStatus(raw_result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(raw_result, what);
  return result;
}

Result Connection::exec(const std::string& sql) {
  return check(PQexec(conn_, sql.c_str()), "query");
}

Result Connection::exec(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               "query");
}

void Connection::copy_out(const std::string& sql,
                          const std::function<void(char*, std::size_t)>& on_line) {
  {
    PGresult* raw_result = PQexec(conn_, sql.c_str());
    Result started(raw_result);
    if (raw_result == nullptr || PQresultStatus(raw_result) != PGRES_COPY_OUT) {
      fail(raw_result, "COPY TO STDOUT");
    }
  }
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(conn_, &buffer, 0);  // blocking: one whole data line per call
    if (n == -1) break;                        // end of data; the final result follows
    if (n < 0) fail(nullptr, "COPY TO STDOUT", true);
    std::unique_ptr<char, decltype(&PQfreemem)> owned(buffer, &PQfreemem);
    auto length = static_cast<std::size_t>(n);
    if (length > 0 && buffer[length - 1] == '\n') --length;
    try {
      on_line(buffer, length);
    } catch (...) {
      broken_ = true;  // Still mid-COPY: the pool must close this session, not reuse it.
      throw;
    }
  }
  finish("COPY TO STDOUT");
}

void Connection::copy_begin(const std::string& sql) {
  PGresult* raw_result = PQexec(conn_, sql.c_str());
  Result started(raw_result);
  if (raw_result == nullptr || PQresultStatus(raw_result) != PGRES_COPY_IN) {
    fail(raw_result, "COPY FROM STDIN");
  }
}

void Connection::copy_put(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
    fail(nullptr, "COPY FROM STDIN", true);
  }
}

void Connection::copy_end() {
  if (PQputCopyEnd(conn_, nullptr) != 1) fail(nullptr, "COPY FROM STDIN", true);
  finish("COPY FROM STDIN");
}

void Connection::finish(std::string_view what) {
  Result failed;
  while (PGresult* raw_result = PQgetResult(conn_)) {
    Result result(raw_result);
    if (PQresultStatus(raw_result) != PGRES_COMMAND_OK && !failed.get()) {
      failed = std::move(result);
    }
  }
  if (failed.get()) fail(failed.get(), what);
  if (PQstatus(conn_) != CONNECTION_OK) fail(nullptr, what, true);
}

bool Connection::reusable() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool Connection::in_transaction() const {
  PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

int Connection::backend_pid() const {
  return PQbackendPID(conn_);
}

Transaction::Transaction(Connection& connection, std::chrono::milliseconds idle_limit)
    : connection_(connection) {
  if (idle_limit.count() > 0) {
    // One round trip: SET LOCAL lasts until this transaction ends.
    connection_.exec("BEGIN; SET LOCAL idle_in_transaction_session_timeout = " +
                     std::to_string(idle_limit.count()));
  } else {
    connection_.exec("BEGIN");
  }
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    if (connection_.in_transaction()) connection_.exec("ROLLBACK");
  } catch (...) {
    connection_.mark_broken();  // The pool closes it; a broken session never returns.
  }
}

void Transaction::commit() {
  done_ = true;
  connection_.exec("COMMIT");
}

}  // namespace user_export::pg
