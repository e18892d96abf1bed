// An operator's replay and re-export of a finished run on PostgreSQL, each in one transaction
// that locks the run's row and checks its state first (docs/OPERATIONS.md).
#include "common/error.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export {

using pg::timestamp_param;

namespace {

/// Locks the run's row (so a concurrent action or prune waits) and checks that it exists and
/// `kind` may act on it.
void require_finished_run(pg::Connection& c, const RunId& run_id, RunActionKind kind) {
  pg::Result r =
      c.exec("SELECT state FROM export_runs WHERE run_id = $1 FOR UPDATE", {run_id.str()});
  if (r.rows() == 0) throw_unknown_run(run_id);
  check_run_action(run_id, r.text(0, 0), kind);
}

void record_action(pg::Connection& c, const RunId& run_id, RunActionKind kind,
                   const std::string& actor, const std::string& reason, std::int64_t count,
                   const std::string& now) {
  c.exec(
      "INSERT INTO export_run_actions (run_id, action, actor, reason, count, at) "
      "VALUES ($1, $2, $3, $4, $5, $6::timestamptz)",
      {run_id.str(), to_string(kind), actor, reason, std::to_string(count), now});
}

}  // namespace

std::int64_t PostgresRepository::replay_run(const RunId& given_id, const std::string& actor,
                                            const std::string& reason) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  check_run_action_request(actor, reason);
  const std::string now = timestamp_param(clock_.now());
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  require_finished_run(*conn, run_id, RunActionKind::kReplay);
  pg::Result next = conn->exec(
      "SELECT coalesce(max(seq), -1) + 1 FROM export_outbox WHERE run_id = $1", {run_id.str()});
  const std::int64_t next_seq = next.int64(0, 0);
  pg::Result originals = conn->exec(
      "SELECT id, topic, message_key, payload, headers FROM export_outbox "
      "WHERE run_id = $1 AND replay_of IS NULL ORDER BY seq",
      {run_id.str()});
  if (originals.rows() == 0) {
    throw Error(
        ErrorCode::kInvalidInput,
        "run " + run_id.str() + " has no message in the outbox (pruned?); nothing to replay");
  }
  for (int i = 0; i < originals.rows(); ++i) {
    const std::int64_t id = originals.int64(i, 0);
    auto headers = headers_from_json(originals.view(i, 4), id);
    headers.emplace_back(kReplayHeader, reason);
    conn->exec(
        "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
        "attempts, next_attempt_at, created_at, replay_of) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7::timestamptz, $7::timestamptz, $8)",
        {run_id.str(), std::to_string(next_seq + i), originals.text(i, 1), originals.text(i, 2),
         originals.text(i, 3), headers_to_json(headers), now, std::to_string(id)});
  }
  conn->exec(
      "UPDATE export_runs SET state = 'committed', updated_at = $2::timestamptz "
      "WHERE run_id = $1 AND state = 'completed'",
      {run_id.str(), now});
  const std::int64_t queued = originals.rows();
  record_action(*conn, run_id, RunActionKind::kReplay, actor, reason, queued, now);
  tx.commit();
  return queued;
}

std::int64_t PostgresRepository::reexport_run(const RunId& given_id, const std::string& actor,
                                              const std::string& reason) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  check_run_action_request(actor, reason);
  const std::string now = timestamp_param(clock_.now());
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  require_finished_run(*conn, run_id, RunActionKind::kReexport);
  pg::Result unmarked = conn->exec(
      "UPDATE users SET sent_to_matching_service = false WHERE id IN (SELECT x.id FROM "
      "export_run_claims c CROSS JOIN LATERAL unnest(c.user_ids) AS x (id) WHERE c.run_id = $1) "
      "AND sent_to_matching_service",
      {run_id.str()});
  const std::int64_t users = unmarked.affected();
  record_action(*conn, run_id, RunActionKind::kReexport, actor, reason, users, now);
  tx.commit();
  return users;
}

std::vector<RunAction> PostgresRepository::run_actions(const RunId& given_id) {
  const RunId run_id = RunId::parse(given_id.view());  // any letter case; malformed: kInvalidInput
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(
      "SELECT action, actor, reason, count, (extract(epoch FROM at) * 1000000)::bigint "
      "FROM export_run_actions WHERE run_id = $1 ORDER BY id",
      {run_id.str()});
  std::vector<RunAction> actions;
  for (int i = 0; i < r.rows(); ++i) {
    RunAction action;
    action.run_id = run_id;
    action.kind = r.view(i, 0) == "replay" ? RunActionKind::kReplay : RunActionKind::kReexport;
    action.actor = r.text(i, 1);
    action.reason = r.text(i, 2);
    action.count = r.int64(i, 3);
    action.at = pg::from_micros(r.int64(i, 4));
    actions.push_back(std::move(action));
  }
  return actions;
}

}  // namespace user_export
