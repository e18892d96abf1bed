#include "source/sqlite/sqlite_repository.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "common/utf8.hpp"
#include "common/uuid.hpp"
#include "observe/log.hpp"
#include "source/lease_rule.hpp"
#include "source/outbox_headers.hpp"
#include "source/source_fields.hpp"
#include "source/sqlite/migrations.hpp"
#include "source/sqlite/sqlite_rows.hpp"

namespace user_export {

using sqlite::Connection;
using sqlite::from_millis;
using sqlite::read_run;
using sqlite::select_runs;
using sqlite::Statement;
using sqlite::to_millis;
using sqlite::write_transaction;

namespace {

MatchingGroup read_group(const Statement& row) {
  MatchingGroup group;
  group.id = GroupId::parse(row.text(0));
  group.domain_id = DomainId::parse(row.text(1));
  group.name = row.text(2);
  group.type_name = row.text(3);
  group.active = row.int64(4) != 0;
  return group;
}

/// The run's stored lease, for the kLeaseLost message.
std::optional<StoredLease> stored_lease(Connection& conn, const RunId& run_id) {
  auto stmt = conn.prepare(
      "SELECT state, lease_owner, lease_expires_at, attempts FROM export_runs WHERE run_id = ?1",
      "read a run's lease");
  stmt.bind(1, run_id);
  if (!stmt.step()) return std::nullopt;
  StoredLease lease;
  lease.state = stmt.text(0);
  if (!stmt.is_null(1)) lease.owner = OwnerId(stmt.text(1));
  if (!stmt.is_null(2)) lease.expires = from_millis(stmt.int64(2));
  lease.attempts = static_cast<int>(stmt.int64(3));
  return lease;
}

[[noreturn]] void throw_run_lease_lost(Connection& conn, const RunId& run_id, const OwnerId& owner,
                                       int attempt, std::int64_t now, const char* action) {
  throw_lease_lost(run_id, owner, attempt, action,
                   lease_problem(stored_lease(conn, run_id), owner, attempt, from_millis(now)));
}

/// Whether `owner` with token `attempt` holds a live lease on a claimed run (the fencing check).
bool holds_live_lease(Connection& conn, const RunId& run_id, const OwnerId& owner, int attempt,
                      std::int64_t now) {
  auto stmt = conn.prepare(
      "SELECT 1 FROM export_runs WHERE run_id = ?1 AND state = 'claimed' AND lease_owner = ?2 "
      "AND attempts = ?3 AND lease_expires_at > ?4",
      "check a run's lease");
  stmt.bind(1, run_id).bind(2, owner).bind(3, std::int64_t{attempt}).bind(4, now);
  return stmt.step();
}

/// The latest whole second at or before `slot` (milliseconds) that has no run of `group`.
std::int64_t free_slot_at_or_before(Connection& conn, const std::string& group, std::int64_t slot) {
  auto stmt = conn.prepare(
      "SELECT slot FROM export_runs WHERE group_id = ?1 AND slot <= ?2 ORDER BY slot DESC",
      "find a free slot");
  stmt.bind(1, group).bind(2, slot);
  while (stmt.step()) {
    const std::int64_t taken = stmt.int64(0);
    if (taken < slot) break;
    slot -= 1000;
  }
  return slot;
}

// The columns read_message() expects, in its order.
constexpr const char* kMessageColumns =
    "id, run_id, topic, message_key, payload, headers, attempts";

OutboundMessage read_message(const Statement& row) {
  OutboundMessage message;
  message.outbox_id = row.int64(0);
  message.run_id = RunId(row.text(1));
  message.topic = row.text(2);
  message.key = row.text(3);
  message.payload = row.text(4);
  message.headers = headers_from_json(row.text(5), message.outbox_id);
  message.attempts = static_cast<int>(row.int64(6));
  return message;
}

void require_outbox_row(Connection& conn, std::int64_t outbox_id) {
  auto stmt = conn.prepare("SELECT 1 FROM export_outbox WHERE id = ?1", "find an outbox message");
  stmt.bind(1, outbox_id);
  if (!stmt.step()) {
    throw Error(ErrorCode::kInvalidInput, "there is no outbox message with id " +
                                              std::to_string(outbox_id) +
                                              " in export_outbox; pass an id from "
                                              "pending_messages()");
  }
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

// ---- construction ----

std::string SqliteRepository::path_from_url(const std::string& url) {
  constexpr std::string_view kPrefix = "sqlite://";
  const std::string example =
      "; use sqlite:///absolute/path.db, e.g. sqlite:///var/lib/"
      "user-export/export.db";
  if (url.rfind(kPrefix, 0) != 0) {
    throw Error(ErrorCode::kConfig, "'" + url + "' is not an SQLite URL" + example);
  }
  std::string_view rest = std::string_view(url).substr(kPrefix.size());
  if (rest.empty() || rest.front() != '/') {
    throw Error(ErrorCode::kConfig,
                "SQLite URL '" + url + "' must name an absolute path (three slashes)" + example);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    throw Error(
        ErrorCode::kConfig,
        "SQLite URL '" + url + "' has a query or fragment, which is not supported" + example);
  }
  std::string path = percent_decode(rest);
  if (!std::filesystem::path(path).has_filename()) {
    throw Error(ErrorCode::kConfig,
                "SQLite URL '" + url + "' names a directory, not a database file" + example);
  }
  return path;
}

SqliteRepository::SqliteRepository(std::string path, Clock& clock, SqliteOptions options)
    : path_(std::move(path)),
      clock_(clock),
      pool_(path_, options.max_idle_connections, options.busy_timeout, options.read_only) {
  const auto parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty() && !options.read_only) std::filesystem::create_directories(parent, ec);
  if (ec) {
    throw Error(ErrorCode::kDatabase, "cannot create the directory " + parent.string() +
                                          " for the SQLite database: " + ec.message() +
                                          "; create it or fix its permissions");
  }
  // Open one connection now so a bad path or a file that is not a database fails here.
  pool_.acquire();
}

// ---- schema ----

void SqliteRepository::migrate() {
  auto conn = pool_.acquire();
  write_transaction(*conn, "apply migrations", [&](Connection& c) {
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "applied_at INTEGER NOT NULL)",
        "create schema_version");
    auto current_stmt = c.prepare("SELECT coalesce(max(version), 0) FROM schema_version",
                                  "read the schema version");
    current_stmt.step();
    const std::int64_t current = current_stmt.int64(0);
    current_stmt.reset();
    for (const auto& migration : sqlite::migrations()) {
      if (migration.version <= current) continue;
      c.exec(migration.sql, "apply a migration");
      auto record = c.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                              "record a migration");
      record.bind(1, std::int64_t{migration.version}).bind(2, to_millis(clock_.now()));
      record.run();
    }
  });
}

int SqliteRepository::schema_version() {
  auto conn = pool_.acquire();
  auto exists = conn->prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
      "look for schema_version");
  exists.step();
  if (exists.int64(0) == 0) return 0;
  auto stmt = conn->prepare("SELECT coalesce(max(version), 0) FROM schema_version",
                            "read the schema version");
  stmt.step();
  return static_cast<int>(stmt.int64(0));
}

// ---- groups ----

std::vector<MatchingGroup> SqliteRepository::active_groups(const DomainId& domain) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT id, domain_id, name, group_type, active FROM matching_groups "
      "WHERE domain_id = ?1 COLLATE NOCASE AND active ORDER BY lower(id), id",
      "list the active groups");
  stmt.bind(1, domain.str());
  std::vector<MatchingGroup> groups;
  while (stmt.step()) {
    MatchingGroup group = read_group(stmt);
    // One group stored in two letter cases is one group (its canonical id), exported once.
    if (!groups.empty() && groups.back().id == group.id) continue;
    groups.push_back(std::move(group));
  }
  return groups;
}

std::optional<MatchingGroup> SqliteRepository::find_group(const GroupId& id) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT id, domain_id, name, group_type, active FROM matching_groups "
      "WHERE id = ?1 COLLATE NOCASE ORDER BY active DESC, id LIMIT 1",
      "find a group");
  stmt.bind(1, id.str());
  if (!stmt.step()) return std::nullopt;
  return read_group(stmt);
}

// ---- the run ----

ExportRun SqliteRepository::claim(const ClaimRequest& request) {
  check_claim_request(request.owner, request.lease, request.new_run_id);
  auto conn = pool_.acquire();
  return write_transaction(*conn, "claim a run", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    const std::int64_t expires =
        now + std::chrono::duration_cast<std::chrono::milliseconds>(request.lease).count();
    const std::string group = request.group_id.str();

    // 1. The group's unfinished run, of any slot, is resumed first.
    std::optional<ExportRun> unfinished;
    {
      auto find = c.prepare(
          select_runs("WHERE group_id = ?1 AND state = 'claimed' ORDER BY created_at, run_id "
                      "LIMIT 1"),
          "find the group's unfinished run");
      find.bind(1, group);
      if (find.step()) unfinished = read_run(find);
    }
    if (unfinished) {
      ExportRun& run = *unfinished;
      StoredLease lease{"claimed", std::nullopt, std::nullopt, run.attempts};
      if (!run.lease_owner.empty()) lease.owner = run.lease_owner;
      if (run.lease_expires_at != SystemTime{}) lease.expires = run.lease_expires_at;
      if (!lease_can_be_taken(lease, request.owner, from_millis(now), request.owner_is_dead)) {
        throw_group_busy(group, run.run_id, run.lease_owner, run.lease_expires_at);
      }
      auto take = c.prepare(
          "UPDATE export_runs SET attempts = attempts + 1, lease_owner = ?2, "
          "lease_expires_at = ?3, updated_at = ?4 WHERE run_id = ?1",
          "take over an unfinished run");
      take.bind(1, run.run_id).bind(2, request.owner).bind(3, expires).bind(4, now);
      take.run();
      run.attempts += 1;
      run.lease_owner = request.owner;
      run.lease_expires_at = from_millis(expires);
      run.updated_at = from_millis(now);
      run.resumed = true;
      return run;
    }

    // 2. A finished run of this slot: nothing to do.
    std::int64_t slot = to_millis(request.slot);
    {
      auto finished =
          c.prepare(select_runs("WHERE group_id = ?1 AND slot = ?2"), "find the slot's run");
      finished.bind(1, group).bind(2, slot);
      if (finished.step()) {
        if (request.once_per_slot) return read_run(finished);
        slot = free_slot_at_or_before(c, group, slot);
      }
    }

    // 3. A new run claiming exactly the unsent users no unfinished run holds.
    auto insert = c.prepare(
        "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, "
        "attempts, lease_owner, lease_expires_at, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, 'claimed', 0, 1, ?5, ?6, ?7, ?7)",
        "create a run");
    insert.bind(1, request.new_run_id)
        .bind(2, group)
        .bind(3, request.domain_id.str())
        .bind(4, slot)
        .bind(5, request.owner)
        .bind(6, expires)
        .bind(7, now);
    insert.run();
    auto items = c.prepare(
        "INSERT INTO export_run_items (run_id, user_id) "
        "SELECT ?1, u.id FROM users u "
        "WHERE u.group_id = ?2 COLLATE NOCASE AND NOT u.sent_to_matching_service "
        "AND NOT EXISTS (SELECT 1 FROM export_run_items i "
        "                JOIN export_runs r ON r.run_id = i.run_id "
        "                WHERE i.user_id = u.id AND r.state = 'claimed' AND r.run_id <> ?1) "
        "ORDER BY u.id",
        "record the claimed users");
    items.bind(1, request.new_run_id).bind(2, group);
    items.run();
    const std::int64_t count = c.changes();
    auto set_count = c.prepare("UPDATE export_runs SET item_count = ?2 WHERE run_id = ?1",
                               "store the claimed user count");
    set_count.bind(1, request.new_run_id).bind(2, count);
    set_count.run();

    ExportRun run;
    run.run_id = request.new_run_id;
    run.group_id = request.group_id;
    run.domain_id = request.domain_id;
    run.slot = std::chrono::time_point_cast<std::chrono::seconds>(from_millis(slot));
    run.state = RunState::kClaimed;
    run.item_count = count;
    run.attempts = 1;
    run.lease_owner = request.owner;
    run.lease_expires_at = from_millis(expires);
    run.created_at = from_millis(now);
    run.updated_at = from_millis(now);
    return run;
  });
}

void SqliteRepository::heartbeat(const RunId& run_id, const OwnerId& owner, int attempt,
                                 std::chrono::seconds lease) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "extend a lease", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    auto stmt = c.prepare(
        "UPDATE export_runs SET lease_expires_at = ?3, updated_at = ?4 "
        "WHERE run_id = ?1 AND state = 'claimed' AND lease_owner = ?2 AND attempts = ?5 "
        "AND lease_expires_at > ?4",
        "extend a lease");
    stmt.bind(1, run_id)
        .bind(2, owner)
        .bind(3, now + std::chrono::duration_cast<std::chrono::milliseconds>(lease).count())
        .bind(4, now)
        .bind(5, std::int64_t{attempt});
    stmt.run();
    if (c.changes() == 0)
      throw_run_lease_lost(c, run_id, owner, attempt, now, "extend the lease of");
  });
}

std::string SqliteRepository::stream_query(const std::vector<std::string>& fields) {
  // The field names come from the fixed list of known fields, never from user text.
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += source_table_of(fields[i]) == SourceTable::kUsers ? "u." : "p.";
    sql += fields[i];
  }
  // Ordering by the items' key follows the (run_id, user_id) primary key, so SQLite steps
  // through it without sorting: constant memory whatever the run's size.
  sql +=
      " FROM export_run_items i JOIN users u ON u.id = i.user_id "
      "LEFT JOIN profiles p ON p.user_id = u.id WHERE i.run_id = ?1 ORDER BY i.user_id";
  return sql;
}

void SqliteRepository::stream_rows(const RunId& run_id, const std::vector<std::string>& fields,
                                   RowHandler& handler) {
  if (fields.empty()) {
    throw Error(ErrorCode::kConfig,
                "no source fields requested; configure at least one CSV "
                "column");
  }
  require_known_source_fields(fields);
  const std::string sql = stream_query(fields);

  auto conn = pool_.acquire();
  {
    auto exists = conn->prepare("SELECT 1 FROM export_runs WHERE run_id = ?1", "find a run");
    exists.bind(1, run_id);
    if (!exists.step()) {
      throw Error(ErrorCode::kInvalidInput,
                  "cannot stream run " + run_id.str() + ": there is no such run; claim it first");
    }
  }
  auto stmt = conn->prepare(sql, "stream a run's rows");
  stmt.bind(1, run_id);
  std::vector<std::optional<std::string_view>> row(fields.size());
  std::vector<std::string> repaired(fields.size());
  std::int64_t repairs = 0;
  const int columns = static_cast<int>(fields.size());
  while (stmt.step()) {
    for (int i = 0; i < columns; ++i) {
      auto& value = row[static_cast<std::size_t>(i)];
      value = stmt.view(i);
      // SQLite stores whatever bytes it is given; the CSV and the messages promise UTF-8.
      if (value && !is_valid_utf8(*value)) {
        replace_invalid_utf8(*value, repaired[static_cast<std::size_t>(i)]);
        value = repaired[static_cast<std::size_t>(i)];
        ++repairs;
      }
    }
    handler.on_row(RowView(row));
  }
  if (repairs > 0) {
    log::warn(
        "values that were not valid UTF-8 were repaired: their ill-formed bytes became "
        "U+FFFD in the export; fix the source rows",
        {{"run_id", run_id}, {"repaired_values", repairs}});
  }
}

void SqliteRepository::record_failure(const RunId& run_id, const OwnerId& owner, int attempt,
                                      const std::string& error) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "record a failed attempt", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    auto stmt = c.prepare(
        "UPDATE export_runs SET last_error = ?3, lease_owner = NULL, lease_expires_at = NULL, "
        "updated_at = ?4 WHERE run_id = ?1 AND state = 'claimed' AND lease_owner = ?2 "
        "AND attempts = ?5",
        "record a failed attempt");
    stmt.bind(1, run_id).bind(2, owner).bind(3, error).bind(4, now).bind(5, std::int64_t{attempt});
    stmt.run();
    if (c.changes() == 0)
      throw_run_lease_lost(c, run_id, owner, attempt, now, "record a failure of");
    auto parts = c.prepare("DELETE FROM export_outbox_staged WHERE run_id = ?1 AND attempt = ?2",
                           "remove a failed attempt's staged parts");
    parts.bind(1, run_id).bind(2, std::int64_t{attempt}).run();
  });
}

void SqliteRepository::complete_empty(const RunId& run_id, const OwnerId& owner, int attempt) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "complete an empty run", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    if (!holds_live_lease(c, run_id, owner, attempt, now)) {
      throw_run_lease_lost(c, run_id, owner, attempt, now, "complete empty");
    }
    auto stmt = c.prepare(
        "UPDATE export_runs SET state = 'empty', lease_expires_at = NULL, updated_at = ?2 "
        "WHERE run_id = ?1 AND item_count = 0",
        "complete an empty run");
    stmt.bind(1, run_id).bind(2, now);
    stmt.run();
    if (c.changes() == 0) {
      throw Error(ErrorCode::kInternal, "run " + run_id.str() +
                                            " claimed users, so it cannot be completed as "
                                            "empty; commit it instead");
    }
  });
}

void SqliteRepository::stage_part(const RunId& run_id, const OwnerId& owner, int attempt,
                                  int number, const OutboundMessage& part) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "stage an id-list part", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    if (!holds_live_lease(c, run_id, owner, attempt, now)) {
      throw_run_lease_lost(c, run_id, owner, attempt, now, "stage a part of");
    }
    auto insert = c.prepare(
        "INSERT OR REPLACE INTO export_outbox_staged (run_id, attempt, number, topic, "
        "message_key, payload, headers, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "stage an id-list part");
    insert.bind(1, run_id)
        .bind(2, std::int64_t{attempt})
        .bind(3, std::int64_t{number})
        .bind(4, part.topic)
        .bind(5, part.key)
        .bind(6, part.payload)
        .bind(7, headers_to_json(part.headers))
        .bind(8, now);
    insert.run();
  });
}

void SqliteRepository::commit(const CommitRequest& request) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "commit a run", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    if (!holds_live_lease(c, request.run_id, request.owner, request.attempt, now)) {
      throw_run_lease_lost(c, request.run_id, request.owner, request.attempt, now, "commit");
    }
    if (request.mark_sent) {
      auto mark = c.prepare(
          "UPDATE users SET sent_to_matching_service = 1 WHERE id IN "
          "(SELECT user_id FROM export_run_items WHERE run_id = ?1) "
          "AND NOT sent_to_matching_service",
          "mark the claimed users sent");
      mark.bind(1, request.run_id);
      mark.run();
    }
    if (request.file) {
      auto file = c.prepare(
          "UPDATE export_runs SET object_key = ?2, row_count = ?3, byte_count = ?4, sha256 = ?5 "
          "WHERE run_id = ?1",
          "store the exported file");
      file.bind(1, request.run_id)
          .bind(2, request.file->object_key)
          .bind(3, request.file->rows)
          .bind(4, request.file->bytes)
          .bind(5, request.file->sha256);
      file.run();
    }
    std::int64_t seq = 0;
    for (const auto& message : request.messages) {
      auto insert = c.prepare(
          "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
          "attempts, next_attempt_at, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)",
          "queue a message in the outbox");
      insert.bind(1, request.run_id)
          .bind(2, seq++)
          .bind(3, message.topic)
          .bind(4, message.key)
          .bind(5, message.payload)
          .bind(6, headers_to_json(message.headers))
          .bind(7, now);
      insert.run();
    }
    if (request.staged_parts > 0) {
      auto move = c.prepare(
          "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
          "attempts, next_attempt_at, created_at) "
          "SELECT run_id, ?3 + number - 1, topic, message_key, replace(payload, ?4, ?5), "
          "headers, 'pending', 0, ?6, ?6 FROM export_outbox_staged "
          "WHERE run_id = ?1 AND attempt = ?2 AND number BETWEEN 1 AND ?7 ORDER BY number",
          "move the staged parts into the outbox");
      move.bind(1, request.run_id)
          .bind(2, std::int64_t{request.attempt})
          .bind(3, seq)
          .bind(4, kPartsPlaceholder)
          .bind(5, parts_field(request.staged_parts))
          .bind(6, now)
          .bind(7, std::int64_t{request.staged_parts});
      move.run();
      if (c.changes() != request.staged_parts) {
        throw Error(ErrorCode::kInternal,
                    "the commit of run " + request.run_id.str() + " expected " +
                        std::to_string(request.staged_parts) + " staged parts and found " +
                        std::to_string(c.changes()) + "; nothing was committed, retry the run");
      }
    }
    auto unstage = c.prepare("DELETE FROM export_outbox_staged WHERE run_id = ?1",
                             "remove the run's staged parts");
    unstage.bind(1, request.run_id).run();
    const bool sends = !request.messages.empty() || request.staged_parts > 0;
    auto state = c.prepare(
        "UPDATE export_runs SET state = ?2, lease_expires_at = NULL, updated_at = ?3 "
        "WHERE run_id = ?1",
        "mark the run committed");
    state.bind(1, request.run_id)
        .bind(2, std::string_view(sends ? "committed" : "completed"))
        .bind(3, now);
    state.run();
  });
}

// ---- the outbox ----

std::vector<OutboundMessage> SqliteRepository::pending_messages(std::size_t limit) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(std::string("SELECT ") + kMessageColumns +
                                " FROM export_outbox WHERE state = 'pending' AND "
                                "next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
                            "read pending outbox messages");
  stmt.bind(1, to_millis(clock_.now())).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboundMessage> out;
  while (stmt.step()) out.push_back(read_message(stmt));
  return out;
}

std::vector<OutboundMessage> SqliteRepository::claim_messages(std::size_t limit,
                                                              const OwnerId& owner,
                                                              std::chrono::seconds lease,
                                                              std::size_t max_bytes) {
  check_message_claim(owner, lease);
  if (limit == 0) return {};
  auto conn = pool_.acquire();
  return write_transaction(*conn, "claim outbox messages", [&](Connection& c) {
    const SystemTime now = clock_.now();
    auto stmt = c.prepare(
        std::string("UPDATE export_outbox SET claimed_by = ?3, claim_expires_at = ?4 "
                    "WHERE id IN (SELECT id FROM (SELECT id, n, sum(n) OVER (ORDER BY id) "
                    "AS upto FROM (SELECT id, length(CAST(payload AS BLOB)) AS n "
                    "FROM export_outbox WHERE state = 'pending' AND next_attempt_at <= ?1 AND "
                    "(claim_expires_at IS NULL OR claim_expires_at <= ?1) ORDER BY id "
                    "LIMIT ?2)) WHERE upto = n OR upto <= ?5) "
                    "RETURNING ") +
            kMessageColumns,
        "claim outbox messages");
    stmt.bind(1, to_millis(now))
        .bind(2, static_cast<std::int64_t>(limit))
        .bind(3, owner)
        .bind(4, to_millis(now + lease))
        .bind(5, claim_byte_bound(max_bytes));
    std::vector<OutboundMessage> out;
    while (stmt.step()) out.push_back(read_message(stmt));
    // RETURNING follows no ORDER BY: put the messages back in outbox order.
    std::sort(out.begin(), out.end(), [](const OutboundMessage& a, const OutboundMessage& b) {
      return a.outbox_id < b.outbox_id;
    });
    return out;
  });
}

std::int64_t SqliteRepository::release_message_claims(
    const std::function<bool(const OwnerId& owner)>& owner_is_dead) {
  auto conn = pool_.acquire();
  return write_transaction(*conn, "release outbox claims", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    auto owners = c.prepare(
        "SELECT DISTINCT claimed_by FROM export_outbox WHERE claimed_by IS NOT NULL "
        "AND state = 'pending' AND claim_expires_at > ?1",
        "list outbox claim owners");
    owners.bind(1, now);
    std::vector<OwnerId> dead;
    while (owners.step()) {
      OwnerId owner(owners.text(0));
      if (owner_is_dead(owner)) dead.push_back(std::move(owner));
    }
    std::int64_t released = 0;
    auto release = c.prepare(
        "UPDATE export_outbox SET claimed_by = NULL, claim_expires_at = NULL "
        "WHERE claimed_by = ?1 AND state = 'pending' AND claim_expires_at > ?2 RETURNING id",
        "release outbox claims");
    for (const OwnerId& owner : dead) {
      release.reset();
      release.bind(1, owner).bind(2, now);
      while (release.step()) ++released;
    }
    return released;
  });
}

std::int64_t SqliteRepository::pending_count() {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare("SELECT count(*) FROM export_outbox WHERE state = 'pending'",
                            "count pending outbox messages");
  stmt.step();
  return stmt.int64(0);
}

void SqliteRepository::finish_messages(std::span<const std::int64_t> outbox_ids, const char* state,
                                       const std::string* reason) {
  if (outbox_ids.empty()) return;
  auto conn = pool_.acquire();
  write_transaction(*conn, "finish outbox messages", [&](Connection& c) {
    const std::int64_t now = to_millis(clock_.now());
    for (const std::int64_t outbox_id : outbox_ids) require_outbox_row(c, outbox_id);
    auto update = c.prepare(
        "UPDATE export_outbox SET state = ?2, published_at = ?3, "
        "last_error = coalesce(?4, last_error), claimed_by = NULL, claim_expires_at = NULL "
        "WHERE id = ?1 AND state = 'pending' RETURNING run_id",
        "finish an outbox message");
    auto complete = c.prepare(
        "UPDATE export_runs SET state = 'completed', updated_at = ?2 "
        "WHERE run_id = ?1 AND state = 'committed' AND NOT EXISTS "
        "(SELECT 1 FROM export_outbox WHERE run_id = ?1 AND state = 'pending')",
        "complete a delivered run");
    for (const std::int64_t outbox_id : outbox_ids) {
      update.reset();
      update.bind(1, outbox_id).bind(2, std::string_view(state)).bind(3, now);
      if (reason != nullptr) {
        update.bind(4, std::string_view(*reason));
      } else {
        update.bind_null(4);
      }
      if (!update.step()) continue;  // already published or dead-lettered: nothing to do
      const std::string run_id = update.text(0);
      update.run();  // step to completion so the UPDATE finishes
      complete.reset();
      complete.bind(1, run_id).bind(2, now);
      complete.run();
    }
  });
}

void SqliteRepository::mark_all_published(std::span<const std::int64_t> outbox_ids) {
  finish_messages(outbox_ids, "published", nullptr);
}

void SqliteRepository::mark_dead_lettered(std::int64_t outbox_id, const std::string& reason) {
  finish_messages({&outbox_id, 1}, "dead_lettered", &reason);
}

void SqliteRepository::record_publish_failure(std::int64_t outbox_id, const std::string& error,
                                              SystemTime next_attempt) {
  auto conn = pool_.acquire();
  write_transaction(*conn, "record a failed delivery", [&](Connection& c) {
    require_outbox_row(c, outbox_id);
    auto stmt = c.prepare(
        "UPDATE export_outbox SET attempts = attempts + 1, last_error = ?2, "
        "next_attempt_at = ?3, claimed_by = NULL, claim_expires_at = NULL "
        "WHERE id = ?1 AND state = 'pending'",
        "record a failed delivery");
    stmt.bind(1, outbox_id).bind(2, error).bind(3, to_millis(next_attempt));
    stmt.run();
  });
}

// ---- runs ----

std::vector<ExportRun> SqliteRepository::list_runs(const RunFilter& filter) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      select_runs("WHERE (?1 IS NULL OR group_id = ?1 COLLATE NOCASE) AND (?2 IS NULL OR state = "
                  "?2) AND (?3 IS NULL OR created_at >= ?3) "
                  "ORDER BY created_at DESC, rowid DESC LIMIT ?4"),
      "list runs");
  if (filter.group) stmt.bind(1, filter.group->str());
  if (filter.state) stmt.bind(2, to_string(*filter.state));
  if (filter.since) stmt.bind(3, to_millis(*filter.since));
  stmt.bind(4, static_cast<std::int64_t>(filter.limit));
  std::vector<ExportRun> runs;
  while (stmt.step()) runs.push_back(read_run(stmt));
  return runs;
}

std::vector<ExportRun> SqliteRepository::runs_to_sweep(SystemTime since, std::int64_t min_bytes,
                                                       std::size_t limit) {
  auto conn = pool_.acquire();
  auto stmt =
      conn->prepare(select_runs("WHERE state = 'claimed' OR (created_at >= ?1 AND (attempts > 1 OR "
                                "byte_count >= ?2)) ORDER BY created_at DESC, rowid DESC LIMIT ?3"),
                    "list the runs to sweep");
  stmt.bind(1, to_millis(since)).bind(2, min_bytes).bind(3, static_cast<std::int64_t>(limit));
  std::vector<ExportRun> runs;
  while (stmt.step()) runs.push_back(read_run(stmt));
  return runs;
}

std::optional<ExportRun> SqliteRepository::find_run(const RunId& run_id) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(select_runs("WHERE run_id = ?1"), "find a run");
  stmt.bind(1, run_id);
  if (!stmt.step()) return std::nullopt;
  return read_run(stmt);
}

std::int64_t SqliteRepository::claimed_users_remaining(const RunId& run_id) {
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT count(*) FROM export_run_items i JOIN users u ON u.id = i.user_id "
      "WHERE i.run_id = ?1",
      "count a run's claimed users");
  stmt.bind(1, run_id);
  stmt.step();
  return stmt.int64(0);
}

}  // namespace user_export
