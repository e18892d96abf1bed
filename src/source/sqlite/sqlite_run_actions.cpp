// An operator's replay and re-export of a finished run on SQLite, each in one write
// transaction that checks the run's state first (docs/OPERATIONS.md).
#include "common/error.hpp"
#include "source/outbox_headers.hpp"
#include "source/sqlite/sqlite_repository.hpp"

namespace user_export {

using sqlite::Connection;
using sqlite::from_millis;
using sqlite::to_millis;
using sqlite::write_transaction;

namespace {

/// Checks, inside the transaction, that the run exists and `kind` may act on it.
void require_finished_run(Connection& c, const RunId& run_id, RunActionKind kind) {
  auto stmt = c.prepare("SELECT state FROM export_runs WHERE run_id = ?1", "read a run's state");
  stmt.bind(1, run_id);
  if (!stmt.step()) throw_unknown_run(run_id);
  check_run_action(run_id, stmt.text(0), kind);
}

void record_action(Connection& c, const RunId& run_id, RunActionKind kind, const std::string& actor,
                   const std::string& reason, std::int64_t count, std::int64_t now) {
  auto stmt = c.prepare(
      "INSERT INTO export_run_actions (run_id, action, actor, reason, count, at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      "record an action on a run");
  stmt.bind(1, run_id)
      .bind(2, to_string(kind))
      .bind(3, actor)
      .bind(4, reason)
      .bind(5, count)
      .bind(6, now);
  stmt.run();
}

}  // namespace

std::int64_t SqliteRepository::replay_run(const RunId& given_id, const std::string& actor,
                                          const std::string& reason) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  check_run_action_request(actor, reason);
  const std::int64_t now = to_millis(clock_.now());
  auto conn = pool_.acquire();
  return write_transaction(*conn, "replay a run", [&](Connection& c) {
    require_finished_run(c, run_id, RunActionKind::kReplay);
    std::int64_t next_seq = 0;
    {
      auto max = c.prepare("SELECT coalesce(max(seq), -1) + 1 FROM export_outbox WHERE run_id = ?1",
                           "number the replayed messages");
      max.bind(1, run_id);
      max.step();
      next_seq = max.int64(0);
    }
    auto originals = c.prepare(
        "SELECT id, topic, message_key, payload, headers FROM export_outbox "
        "WHERE run_id = ?1 AND replay_of IS NULL ORDER BY seq",
        "read the run's messages");
    originals.bind(1, run_id);
    std::int64_t queued = 0;
    while (originals.step()) {
      const std::int64_t id = originals.int64(0);
      auto headers = headers_from_json(originals.text(4), id);
      headers.emplace_back(kReplayHeader, reason);
      auto insert = c.prepare(
          "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
          "attempts, next_attempt_at, created_at, replay_of) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?8)",
          "queue a replayed message");
      insert.bind(1, run_id)
          .bind(2, next_seq + queued)
          .bind(3, originals.text(1))
          .bind(4, originals.text(2))
          .bind(5, originals.text(3))
          .bind(6, headers_to_json(headers))
          .bind(7, now)
          .bind(8, id);
      insert.run();
      ++queued;
    }
    if (queued == 0) {
      throw Error(
          ErrorCode::kInvalidInput,
          "run " + run_id.str() + " has no message in the outbox (pruned?); nothing to replay");
    }
    auto reopen = c.prepare(
        "UPDATE export_runs SET state = 'committed', updated_at = ?2 "
        "WHERE run_id = ?1 AND state = 'completed'",
        "reopen a replayed run");
    reopen.bind(1, run_id).bind(2, now);
    reopen.run();
    record_action(c, run_id, RunActionKind::kReplay, actor, reason, queued, now);
    return queued;
  });
}

std::int64_t SqliteRepository::reexport_run(const RunId& given_id, const std::string& actor,
                                            const std::string& reason) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  check_run_action_request(actor, reason);
  const std::int64_t now = to_millis(clock_.now());
  auto conn = pool_.acquire();
  return write_transaction(*conn, "re-export a run", [&](Connection& c) {
    require_finished_run(c, run_id, RunActionKind::kReexport);
    auto unmark = c.prepare(
        "UPDATE users SET sent_to_matching_service = 0 WHERE id IN "
        "(SELECT user_id FROM export_run_items WHERE run_id = ?1) AND sent_to_matching_service",
        "set the run's users back to unsent");
    unmark.bind(1, run_id);
    unmark.run();
    const std::int64_t users = c.changes();
    record_action(c, run_id, RunActionKind::kReexport, actor, reason, users, now);
    return users;
  });
}

std::vector<RunAction> SqliteRepository::run_actions(const RunId& given_id) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  auto conn = pool_.acquire();
  auto stmt = conn->prepare(
      "SELECT action, actor, reason, count, at FROM export_run_actions WHERE run_id = ?1 "
      "ORDER BY id",
      "list a run's actions");
  stmt.bind(1, run_id);
  std::vector<RunAction> actions;
  while (stmt.step()) {
    RunAction action;
    action.run_id = run_id;
    action.kind = stmt.text(0) == "replay" ? RunActionKind::kReplay : RunActionKind::kReexport;
    action.actor = stmt.text(1);
    action.reason = stmt.text(2);
    action.count = stmt.int64(3);
    action.at = from_millis(stmt.int64(4));
    actions.push_back(std::move(action));
  }
  return actions;
}

}  // namespace user_export
