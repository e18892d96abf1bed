// The run's steps on PostgreSQL: claim, heartbeat, record_failure, complete_empty, commit.
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export {

using pg::timestamp_param;

namespace {

// First key of the per-group claim lock (pg_advisory_xact_lock(int, int)); the second is
// hashtext(group id). Two groups that share a hash merely claim one after the other.
constexpr const char* kClaimLockClass = "1969582337";  // 0x75650001

std::string select_runs(const char* where) {
  return std::string("SELECT ") + pg::kRunColumns + " FROM export_runs " + where;
}

// Whether `owner` holds a live lease on a claimed run; locks the run row until the end of the
// transaction so that a concurrent claim cannot take the lease over meanwhile.
bool lock_live_lease(pg::Connection& c, const std::string& run_id, const std::string& owner,
                     SystemTime now) {
  if (!Uuid::parse(run_id)) return false;
  pg::Result r = c.exec(
      "SELECT 1 FROM export_runs WHERE run_id = $1 AND state = 'claimed' AND lease_owner = $2 "
      "AND lease_expires_at > $3::timestamptz FOR UPDATE",
      {run_id, owner, timestamp_param(now)});
  return r.rows() == 1;
}

}  // namespace

ExportRun PostgresRepository::claim(const ClaimRequest& request) {
  if (request.owner.empty()) {
    throw Error(ErrorCode::kInvalidInput, "claim needs a lease owner name; set the instance name");
  }
  if (request.lease.count() <= 0) {
    throw Error(ErrorCode::kInvalidInput, "claim needs a positive lease duration");
  }
  if (!Uuid::parse(request.new_run_id)) {
    throw Error(ErrorCode::kInvalidInput,
                "claim needs a UUID as new run id, got '" + request.new_run_id + "'");
  }
  const SystemTime now = clock_.now();
  const std::string now_param = timestamp_param(now);
  const std::string expires_param = timestamp_param(now + request.lease);
  const std::string group = request.group_id.str();

  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  // Claims of one group run one at a time (in every instance): the second waits here and then
  // sees the first one's run and items, committed.
  conn->exec(std::string("SELECT pg_advisory_xact_lock(") + kClaimLockClass + ", hashtext($1))",
             {group});

  // 1. The group's unfinished run, of any slot, is resumed first.
  pg::Result open = conn->exec(
      select_runs("WHERE group_id = $1 AND state = 'claimed' ORDER BY created_at, created_seq "
                  "LIMIT 1 FOR UPDATE"),
      {group});
  if (open.rows() > 0) {
    ExportRun run = pg::read_run(open, 0);
    const bool free = run.lease_owner.empty() || run.lease_expires_at <= now ||
                      run.lease_owner == request.owner ||
                      (request.owner_is_dead && request.owner_is_dead(run.lease_owner));
    if (!free) {
      throw Error(ErrorCode::kLeaseLost,
                  "group " + group + " is being exported by '" + run.lease_owner + "' (run " +
                      run.run_id + ", lease until " + format_iso8601_ms(run.lease_expires_at) +
                      "); skipping it now, it can be taken over once that lease expires");
    }
    pg::Result taken = conn->exec(
        "UPDATE export_runs SET attempts = attempts + 1, lease_owner = $2, "
        "lease_expires_at = $3::timestamptz, updated_at = $4::timestamptz WHERE run_id = $1 "
        "RETURNING " +
            std::string(pg::kRunColumns),
        {run.run_id, request.owner, expires_param, now_param});
    tx.commit();
    ExportRun resumed = pg::read_run(taken, 0);
    resumed.resumed = true;
    return resumed;
  }

  // 2. A finished run of this slot: nothing to do.
  const std::string slot = std::to_string(request.slot.time_since_epoch().count());
  pg::Result finished = conn->exec(
      select_runs("WHERE group_id = $1 AND slot = to_timestamp($2::bigint)"), {group, slot});
  if (finished.rows() > 0) {
    tx.commit();
    return pg::read_run(finished, 0);
  }

  // 3. A new run claiming exactly the unsent users that no unfinished run holds. The INSERT's
  // snapshot fixes the set: a user whose insert (or un-marking) commits after this statement
  // started is not in it, and is never streamed or marked by this run.
  conn->exec(
      "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, "
      "attempts, lease_owner, lease_expires_at, created_at, updated_at) "
      "VALUES ($1, $2, $3, to_timestamp($4::bigint), 'claimed', 0, 1, $5, $6::timestamptz, "
      "$7::timestamptz, $7::timestamptz)",
      {request.new_run_id, group, request.domain_id.str(), slot, request.owner, expires_param,
       now_param});
  pg::Result items = conn->exec(
      "INSERT INTO export_run_items (run_id, user_id) "
      "SELECT $1, u.id FROM users u "
      "WHERE u.group_id = $2 AND NOT u.sent_to_matching_service "
      "AND NOT EXISTS (SELECT 1 FROM export_run_items i "
      "                JOIN export_runs r ON r.run_id = i.run_id "
      "                WHERE i.user_id = u.id AND r.state = 'claimed' AND r.run_id <> $1)",
      {request.new_run_id, group});
  pg::Result created =
      conn->exec("UPDATE export_runs SET item_count = $2 WHERE run_id = $1 RETURNING " +
                     std::string(pg::kRunColumns),
                 {request.new_run_id, std::to_string(items.affected())});
  tx.commit();
  return pg::read_run(created, 0);
}

void PostgresRepository::heartbeat(const std::string& run_id, const std::string& owner,
                                   std::chrono::seconds lease) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Result r;
  if (Uuid::parse(run_id)) {
    r = conn->exec(
        "UPDATE export_runs SET lease_expires_at = $3::timestamptz, updated_at = $4::timestamptz "
        "WHERE run_id = $1 AND state = 'claimed' AND lease_owner = $2 "
        "AND lease_expires_at > $4::timestamptz",
        {run_id, owner, timestamp_param(now + lease), timestamp_param(now)});
  }
  if (r.affected() == 0) pg::throw_lease_lost(*conn, run_id, owner, now, "extend the lease of");
}

void PostgresRepository::record_failure(const std::string& run_id, const std::string& owner,
                                        const std::string& error) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Result r;
  if (Uuid::parse(run_id)) {
    r = conn->exec(
        "UPDATE export_runs SET last_error = $3, lease_owner = NULL, lease_expires_at = NULL, "
        "updated_at = $4::timestamptz WHERE run_id = $1 AND state = 'claimed' "
        "AND lease_owner = $2",
        {run_id, owner, error, timestamp_param(now)});
  }
  if (r.affected() == 0) pg::throw_lease_lost(*conn, run_id, owner, now, "record a failure of");
}

void PostgresRepository::complete_empty(const std::string& run_id, const std::string& owner) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  if (!lock_live_lease(*conn, run_id, owner, now)) {
    pg::throw_lease_lost(*conn, run_id, owner, now, "complete empty");
  }
  pg::Result r = conn->exec(
      "UPDATE export_runs SET state = 'empty', lease_expires_at = NULL, "
      "updated_at = $2::timestamptz WHERE run_id = $1 AND item_count = 0",
      {run_id, timestamp_param(now)});
  if (r.affected() == 0) {
    throw Error(ErrorCode::kInternal, "run " + run_id +
                                          " claimed users, so it cannot be completed as empty; "
                                          "commit it instead");
  }
  tx.commit();
}

void PostgresRepository::commit(const CommitRequest& request) {
  const SystemTime now = clock_.now();
  const std::string now_param = timestamp_param(now);
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  // Fencing: the run row stays locked until COMMIT, so no claim can take the lease over
  // between this check and the writes below.
  if (!lock_live_lease(*conn, request.run_id, request.owner, now)) {
    pg::throw_lease_lost(*conn, request.run_id, request.owner, now, "commit");
  }
  if (request.mark_sent) {
    conn->exec(
        "UPDATE users u SET sent_to_matching_service = true FROM export_run_items i "
        "WHERE i.run_id = $1 AND u.id = i.user_id AND NOT u.sent_to_matching_service",
        {request.run_id});
  }
  if (request.file) {
    conn->exec(
        "UPDATE export_runs SET object_key = $2, row_count = $3, byte_count = $4, sha256 = $5 "
        "WHERE run_id = $1",
        {request.run_id, request.file->object_key, std::to_string(request.file->rows),
         std::to_string(request.file->bytes), request.file->sha256});
  }
  int seq = 0;
  for (const OutboundMessage& message : request.messages) {
    conn->exec(
        "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
        "attempts, next_attempt_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7::timestamptz, $7::timestamptz)",
        {request.run_id, std::to_string(seq++), message.topic, message.key, message.payload,
         headers_to_json(message.headers), now_param});
  }
  conn->exec(
      "UPDATE export_runs SET state = $2, lease_expires_at = NULL, updated_at = $3::timestamptz "
      "WHERE run_id = $1",
      {request.run_id, request.messages.empty() ? "completed" : "committed", now_param});
  tx.commit();
}

}  // namespace user_export
