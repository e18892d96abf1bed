// The run's steps on PostgreSQL: claim, heartbeat, record_failure, complete_empty, commit.
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "source/lease_rule.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/postgres/run_sql.hpp"

namespace user_export {

using pg::ClaimedRun;
using pg::kClaimLockClass;
using pg::lock_live_lease;
using pg::mark_claimed_users;
using pg::timestamp_param;
using pg::write_commit;

namespace {

std::string select_runs(const char* where) {
  return std::string("SELECT ") + pg::kRunColumns + " FROM export_runs " + where;
}

}  // namespace

ExportRun PostgresRepository::claim(const ClaimRequest& request) {
  check_claim_request(request.owner, request.lease, request.new_run_id);
  const SystemTime now = clock_.now();
  const std::string now_param = timestamp_param(now);
  const std::string expires_param = timestamp_param(now + request.lease);
  const std::string group = request.group_id.str();

  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  conn->exec(pg::kClaimLockWait);
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
    StoredLease lease{"claimed", std::nullopt, std::nullopt, run.attempts};
    if (!run.lease_owner.empty()) lease.owner = run.lease_owner;
    if (run.lease_expires_at != SystemTime{}) lease.expires = run.lease_expires_at;
    if (!lease_can_be_taken(lease, request.owner, now, request.owner_is_dead)) {
      throw_group_busy(group, run.run_id, run.lease_owner, run.lease_expires_at);
    }
    pg::Result taken = conn->exec(
        "UPDATE export_runs SET attempts = attempts + 1, lease_owner = $2, "
        "lease_expires_at = $3::timestamptz, updated_at = $4::timestamptz WHERE run_id = $1 "
        "RETURNING " +
            std::string(pg::kRunColumns),
        {run.run_id.str(), request.owner.str(), expires_param, now_param});
    tx.commit();
    ExportRun resumed = pg::read_run(taken, 0);
    resumed.resumed = true;
    return resumed;
  }

  // 2. A finished run of this slot: nothing to do.
  std::string slot = std::to_string(request.slot.time_since_epoch().count());
  pg::Result finished = conn->exec(
      select_runs("WHERE group_id = $1 AND slot = to_timestamp($2::bigint)"), {group, slot});
  if (finished.rows() > 0) {
    if (request.once_per_slot) {
      tx.commit();
      return pg::read_run(finished, 0);
    }
    // A one-shot export in a second that already has a run: the latest earlier free second.
    pg::Result taken = conn->exec(
        "SELECT extract(epoch FROM slot)::bigint FROM export_runs WHERE group_id = $1 "
        "AND slot <= to_timestamp($2::bigint) ORDER BY slot DESC",
        {group, slot});
    std::int64_t free = request.slot.time_since_epoch().count();
    for (int i = 0; i < taken.rows() && taken.int64(i, 0) == free; ++i) --free;
    slot = std::to_string(free);
  }

  // 3. A new run claiming exactly the unsent users that no unfinished run holds, recorded as
  // sorted id arrays (one per 65,536 consecutive ids). The INSERT's snapshot fixes the set: a
  // user whose insert (or un-marking) commits after this statement started is not in it, and
  // is never streamed or marked by this run. The same statement exports that snapshot, so the
  // stream can read the very same users straight from `users` (import_snapshot).
  conn->exec(
      "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, "
      "attempts, lease_owner, lease_expires_at, created_at, updated_at) "
      "VALUES ($1, $2, $3, to_timestamp($4::bigint), 'claimed', 0, 1, $5, $6::timestamptz, "
      "$7::timestamptz, $7::timestamptz)",
      {request.new_run_id.str(), group, request.domain_id.str(), slot, request.owner.str(),
       expires_param, now_param});
  conn->exec("SET LOCAL work_mem = '64MB'");  // sorts the ids of a million users in memory
  pg::Result items = conn->exec(
      "WITH claimed AS (INSERT INTO export_run_claims (run_id, chunk, user_ids) "
      "SELECT $1, u.id >> 16, array_agg(u.id ORDER BY u.id) FROM users u WHERE " +
          pg::claimable_users_condition("$2", "$1") +
          " GROUP BY u.id >> 16 RETURNING cardinality(user_ids) AS n) "
          "SELECT coalesce(sum(n), 0)::bigint, pg_export_snapshot() FROM claimed",
      {request.new_run_id.str(), group});
  const std::int64_t item_count = items.int64(0, 0);
  pg::Result created =
      conn->exec("UPDATE export_runs SET item_count = $2 WHERE run_id = $1 RETURNING " +
                     std::string(pg::kRunColumns),
                 {request.new_run_id.str(), std::to_string(item_count)});
  // Import before COMMIT: an exported snapshot lives only as long as its transaction.
  std::unique_ptr<ClaimSnapshot> snapshot;
  if (item_count > 0) {
    snapshot = import_snapshot(std::string(items.view(0, 1)), {request.group_id}, item_count);
  }
  tx.commit();
  if (snapshot) keep_snapshot(request.new_run_id, std::move(snapshot));
  return pg::read_run(created, 0);
}

std::unique_ptr<PostgresRepository::ClaimSnapshot> PostgresRepository::import_snapshot(
    const std::string& snapshot_id, std::vector<GroupId> group_ids, std::int64_t item_count) {
  // The server's snapshot names are hex digits and dashes; anything else is not embedded.
  if (snapshot_id.empty() ||
      snapshot_id.find_first_not_of("0123456789ABCDEFabcdef-") != std::string::npos) {
    return nullptr;
  }
  try {
    auto snapshot = std::make_unique<ClaimSnapshot>();
    snapshot->group_ids = std::move(group_ids);
    snapshot->item_count = item_count;
    snapshot->taken = std::chrono::steady_clock::now();
    // Optional work: never wait for a connection, and leave one for the lease keepers.
    std::optional<pg::Pool::Lease> lease = pool_.try_acquire(1);
    if (!lease) return nullptr;
    snapshot->connection = std::make_unique<pg::Pool::Lease>(std::move(*lease));
    pg::Connection& c = **snapshot->connection;
    c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    c.exec("SET TRANSACTION SNAPSHOT '" + snapshot_id + "'");
    return snapshot;
  } catch (const Error&) {
    return nullptr;  // e.g. the server refused a connection: the stream reads the claim instead
  }
}

void PostgresRepository::keep_snapshot(const RunId& run_id,
                                       std::unique_ptr<ClaimSnapshot> snapshot) {
  std::vector<std::unique_ptr<ClaimSnapshot>> stale;  // released outside the lock
  {
    std::lock_guard lock(snapshots_mu_);
    const auto oldest = std::chrono::steady_clock::now() - std::chrono::minutes(1);
    for (auto it = snapshots_.begin(); it != snapshots_.end();) {
      if (it->second->taken < oldest) {
        stale.push_back(std::move(it->second));
        it = snapshots_.erase(it);
      } else {
        ++it;
      }
    }
    snapshots_[run_id] = std::move(snapshot);
  }
}

std::unique_ptr<PostgresRepository::ClaimSnapshot> PostgresRepository::take_snapshot(
    const RunId& run_id) {
  std::lock_guard lock(snapshots_mu_);
  auto it = snapshots_.find(run_id);
  if (it == snapshots_.end()) return nullptr;
  std::unique_ptr<ClaimSnapshot> snapshot = std::move(it->second);
  snapshots_.erase(it);
  return snapshot;
}

void PostgresRepository::heartbeat(const RunId& run_id, const OwnerId& owner, int attempt,
                                   std::chrono::seconds lease) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Result r;
  if (Uuid::parse(run_id.view())) {
    r = conn->exec(
        "UPDATE export_runs SET lease_expires_at = $3::timestamptz, updated_at = $4::timestamptz "
        "WHERE run_id = $1 AND state = 'claimed' AND lease_owner = $2 AND attempts = $5 "
        "AND lease_expires_at > $4::timestamptz",
        {run_id.str(), owner.str(), timestamp_param(now + lease), timestamp_param(now),
         std::to_string(attempt)});
  }
  if (r.affected() == 0) {
    pg::throw_lease_lost(*conn, run_id, owner, attempt, now, "extend the lease of");
  }
}

void PostgresRepository::record_failure(const RunId& run_id, const OwnerId& owner, int attempt,
                                        const std::string& error) {
  take_snapshot(run_id);  // a retry reads the claim's arrays
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Result r;
  if (Uuid::parse(run_id.view())) {
    r = conn->exec(
        "UPDATE export_runs SET last_error = $3, lease_owner = NULL, lease_expires_at = NULL, "
        "updated_at = $4::timestamptz WHERE run_id = $1 AND state = 'claimed' "
        "AND lease_owner = $2 AND attempts = $5",
        {run_id.str(), owner.str(), error, timestamp_param(now), std::to_string(attempt)});
  }
  if (r.affected() == 0) {
    pg::throw_lease_lost(*conn, run_id, owner, attempt, now, "record a failure of");
  }
  // The attempt's staged parts can never be committed now (a left-over one would be removed
  // by the run's commit or by prune anyway).
  conn->exec("DELETE FROM export_outbox_staged WHERE run_id = $1 AND attempt = $2",
             {run_id.str(), std::to_string(attempt)});
}

void PostgresRepository::complete_empty(const RunId& run_id, const OwnerId& owner, int attempt) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  if (!lock_live_lease(*conn, run_id, owner, attempt, now)) {
    pg::throw_lease_lost(*conn, run_id, owner, attempt, now, "complete empty");
  }
  take_snapshot(run_id);  // nothing to stream
  pg::Result r = conn->exec(
      "UPDATE export_runs SET state = 'empty', lease_expires_at = NULL, "
      "updated_at = $2::timestamptz WHERE run_id = $1 AND item_count = 0",
      {run_id.str(), timestamp_param(now)});
  if (r.affected() == 0) {
    throw Error(ErrorCode::kInternal, "run " + run_id.str() +
                                          " claimed users, so it cannot be completed as empty; "
                                          "commit it instead");
  }
  tx.commit();
}

void PostgresRepository::stage_part(const RunId& run_id, const OwnerId& owner, int attempt,
                                    int number, const OutboundMessage& part) {
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  // The run row stays locked until COMMIT: a part is stored only while this attempt holds the
  // lease, and never after a takeover or a commit of the run.
  if (!lock_live_lease(*conn, run_id, owner, attempt, now)) {
    pg::throw_lease_lost(*conn, run_id, owner, attempt, now, "stage a part of");
  }
  pg::stage_part(*conn, run_id, attempt, number, part, timestamp_param(now));
  tx.commit();
}

void PostgresRepository::write_fenced_commit(pg::Connection& c, const CommitRequest& request,
                                             bool mark) {
  const SystemTime now = clock_.now();
  // Fencing: the run row stays locked until COMMIT, so no claim can take the lease over
  // between this check and the writes below.
  std::optional<ClaimedRun> claimed =
      lock_live_lease(c, request.run_id, request.owner, request.attempt, now);
  if (!claimed) {
    pg::throw_lease_lost(c, request.run_id, request.owner, request.attempt, now, "commit");
  }
  take_snapshot(request.run_id);
  if (mark) mark_claimed_users(c, request.run_id, *claimed);
  write_commit(c, request, timestamp_param(now));
}

void PostgresRepository::commit(const CommitRequest& request) {
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  write_fenced_commit(*conn, request, request.mark_sent);
  fault_point("inside_commit");  // the run's row and users locked, nothing committed yet
  tx.commit();
}

}  // namespace user_export
