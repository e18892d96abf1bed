// Read-only inspection on SQLite (`plan`, `verify`): plain reads in autocommit, nothing written.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/utf8.hpp"
#include "source/outbox_headers.hpp"
#include "source/source_fields.hpp"
#include "source/sqlite/sqlite_repository.hpp"
#include "source/sqlite/sqlite_rows.hpp"

namespace user_export {

using sqlite::from_millis;
using sqlite::read_run;
using sqlite::select_runs;
using sqlite::to_millis;

namespace {

// claim()'s condition for the users of a new run of group ?1 (sqlite_repository.cpp).
constexpr const char* kClaimableCondition =
    "u.group_id = ?1 COLLATE NOCASE AND NOT u.sent_to_matching_service "
    "AND NOT EXISTS (SELECT 1 FROM export_run_items i "
    "                JOIN export_runs r ON r.run_id = i.run_id "
    "                WHERE i.user_id = u.id AND r.state = 'claimed')";

}  // namespace

std::optional<ExportRun> SqliteRepository::unfinished_run(const GroupId& group) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      select_runs("WHERE group_id = ?1 AND state = 'claimed' ORDER BY created_at, run_id LIMIT 1"),
      "find the group's unfinished run");
  stmt.bind(1, group.str());
  if (!stmt.step()) return std::nullopt;
  return read_run(stmt);
}

std::int64_t SqliteRepository::claimable_users(const GroupId& group) {
  auto conn = pool_.acquire();
  auto stmt =
      conn->prepare(std::string("SELECT count(*) FROM users u WHERE ") + kClaimableCondition,
                    "count the group's claimable users");
  stmt.bind(1, group.str());
  stmt.step();
  return stmt.int64(0);
}

void SqliteRepository::stream_claimable(const GroupId& group,
                                        const std::vector<std::string>& fields,
                                        RowHandler& handler) {
  if (fields.empty()) throw Error(ErrorCode::kConfig, "no source fields requested");
  require_known_source_fields(fields);
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += source_table_of(fields[i]) == SourceTable::kUsers ? "u." : "p.";
    sql += fields[i];
  }
  sql += " FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE ";
  sql += kClaimableCondition;
  sql += " ORDER BY u.id";
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(sql, "stream the group's claimable users");
  stmt.bind(1, group.str());
  std::vector<std::optional<std::string_view>> row(fields.size());
  std::vector<std::string> repaired(fields.size());
  while (stmt.step()) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      row[i] = stmt.view(static_cast<int>(i));
      // As stream_rows(): what the export would write, ill-formed bytes repaired.
      if (row[i] && !is_valid_utf8(*row[i])) {
        replace_invalid_utf8(*row[i], repaired[i]);
        row[i] = repaired[i];
      }
    }
    handler.on_row(RowView(row));
  }
}

FileRunTotals SqliteRepository::file_run_totals(const std::optional<GroupId>& group) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT count(*), coalesce(sum(row_count), 0), coalesce(sum(byte_count), 0) "
      "FROM export_runs WHERE state IN ('committed', 'completed') AND object_key IS NOT NULL "
      "AND row_count > 0 AND (?1 IS NULL OR group_id = ?1 COLLATE NOCASE)",
      "sum the finished file runs");
  if (group) {
    stmt.bind(1, group->str());
  } else {
    stmt.bind_null(1);
  }
  stmt.step();
  return FileRunTotals{stmt.int64(0), stmt.int64(1), stmt.int64(2)};
}

std::vector<ExportRun> SqliteRepository::finished_runs_since(SystemTime since) {
  auto conn = pool_.acquire();
  auto stmt =
      conn->prepare(select_runs("WHERE state IN ('committed', 'completed') AND created_at >= ?1 "
                                "ORDER BY created_at, rowid"),
                    "list the finished runs");
  stmt.bind(1, to_millis(since));
  std::vector<ExportRun> runs;
  while (stmt.step()) runs.push_back(read_run(stmt));
  return runs;
}

std::int64_t SqliteRepository::claimed_users_sent(const RunId& run_id) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT count(*) FROM export_run_items i JOIN users u ON u.id = i.user_id "
      "WHERE i.run_id = ?1 AND u.sent_to_matching_service",
      "count a run's claimed users marked sent");
  stmt.bind(1, run_id);
  stmt.step();
  return stmt.int64(0);
}

std::vector<RunMessage> SqliteRepository::run_messages(const RunId& run_id) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT id, seq, topic, message_key, payload, headers, state, attempts, last_error, "
      "created_at, published_at FROM export_outbox WHERE run_id = ?1 ORDER BY seq, id",
      "read a run's messages");
  stmt.bind(1, run_id);
  std::vector<RunMessage> messages;
  while (stmt.step()) {
    RunMessage& m = messages.emplace_back();
    m.outbox_id = stmt.int64(0);
    m.seq = static_cast<int>(stmt.int64(1));
    m.topic = stmt.text(2);
    m.key = stmt.text(3);
    m.payload = stmt.text(4);
    m.headers = headers_from_json(stmt.text(5), m.outbox_id);
    m.state = stmt.text(6);
    m.attempts = static_cast<int>(stmt.int64(7));
    m.last_error = stmt.text(8);
    m.created_at = from_millis(stmt.int64(9));
    if (!stmt.is_null(10)) m.published_at = from_millis(stmt.int64(10));
  }
  return messages;
}

}  // namespace user_export
