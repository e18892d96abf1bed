// Batches of small groups on PostgreSQL: one claim, one stream and one commit for many groups
// (docs/POSTGRES.md, "Batches of small groups").
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/uuid.hpp"
#include "source/postgres/copy_text.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/postgres/run_sql.hpp"
#include "source/source_fields.hpp"

namespace user_export {

using pg::timestamp_param;

namespace {

/// Step 1 of claim_batch(): a run for each group that claim() would give a new run, and that
/// has between 1 and max_users_per_group unsent users (counted in the groups' partial index,
/// no further than one past the limit). Unsent users bound the claimable ones from above;
/// checking the claimable condition itself here would probe other runs' claims once per user.
/// Returns the new runs' ids.
std::vector<std::string> insert_batch_runs(pg::Connection& conn, const BatchClaimRequest& request,
                                           const std::string& group_param, SystemTime now) {
  const std::string slot = std::to_string(request.slot.time_since_epoch().count());
  pg::Result created = conn.exec(
      "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, "
      "attempts, lease_owner, lease_expires_at, created_at, updated_at) "
      "SELECT b.run_id, b.group_id, $3, to_timestamp($4::bigint), 'claimed', 0, 1, $5, "
      "$6::timestamptz, $7::timestamptz, $7::timestamptz "
      "FROM unnest($1::uuid[], $2::uuid[]) AS b (group_id, run_id) "
      "CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM users u "
      "WHERE u.group_id = b.group_id AND NOT u.sent_to_matching_service "
      "LIMIT $8::bigint + 1) AS l) AS unsent "
      "WHERE NOT EXISTS (SELECT 1 FROM export_runs x WHERE x.group_id = b.group_id "
      "AND (x.state = 'claimed' OR x.slot = to_timestamp($4::bigint))) "
      "AND unsent.n BETWEEN 1 AND $8::bigint "
      "RETURNING run_id::text",
      {group_param, pg::array_param(request.new_run_ids), request.domain_id.str(), slot,
       request.owner.str(), timestamp_param(now + request.lease), timestamp_param(now),
       std::to_string(request.max_users_per_group)});
  std::vector<std::string> run_ids;
  for (int i = 0; i < created.rows(); ++i) run_ids.push_back(created.text(i, 0));
  return run_ids;
}

/// What step 2 of claim_batch() recorded.
struct BatchClaims {
  std::vector<ExportRun> runs;  ///< the runs that claimed users, with their item counts
  std::int64_t item_count = 0;  ///< users claimed across them
  std::string snapshot_id;      ///< the exported snapshot of the claiming statement
};

/// Step 2 of claim_batch(): the runs' claims, as claim() records them, in one statement whose
/// snapshot is exported for the stream (see claim()), and the runs' item counts.
BatchClaims insert_batch_claims(pg::Connection& conn, const std::string& run_param) {
  conn.exec("SET LOCAL work_mem = '64MB'");
  pg::Result claimed = conn.exec(
      "WITH claimed AS (INSERT INTO export_run_claims (run_id, chunk, user_ids) "
      "SELECT b.run_id, u.id >> 16, array_agg(u.id ORDER BY u.id) "
      "FROM export_runs b JOIN users u ON " +
          pg::claimable_users_condition("b.group_id", "b.run_id") +
          " WHERE b.run_id = ANY ($1::uuid[]) GROUP BY b.run_id, u.id >> 16 "
          "RETURNING run_id, cardinality(user_ids) AS n), "
          "snapshot AS MATERIALIZED (SELECT pg_export_snapshot() AS id) "
          "SELECT run_id::text, sum(n)::bigint, (SELECT id FROM snapshot) FROM claimed "
          "GROUP BY run_id",
      {run_param});
  BatchClaims out;
  std::vector<std::string> claimed_runs;
  std::vector<std::string> claimed_counts;
  for (int i = 0; i < claimed.rows(); ++i) {
    claimed_runs.push_back(claimed.text(i, 0));
    claimed_counts.push_back(std::to_string(claimed.int64(i, 1)));
    out.item_count += claimed.int64(i, 1);
  }
  if (claimed.rows() > 0 && !claimed.is_null(0, 2)) out.snapshot_id = claimed.text(0, 2);
  pg::Result runs = conn.exec(
      "UPDATE export_runs r SET item_count = c.n "
      "FROM unnest($1::uuid[], $2::bigint[]) AS c (claim_run, n) "
      "WHERE r.run_id = c.claim_run RETURNING " +
          std::string(pg::kRunColumns),
      {pg::array_param(claimed_runs), pg::array_param(claimed_counts)});
  for (int i = 0; i < runs.rows(); ++i) out.runs.push_back(pg::read_run(runs, i));
  return out;
}

}  // namespace

std::vector<ExportRun> PostgresRepository::claim_batch(const BatchClaimRequest& request) {
  if (request.new_run_ids.size() != request.groups.size()) {
    throw Error(ErrorCode::kInvalidInput, "a batch claim needs one new run id per group");
  }
  for (const RunId& run_id : request.new_run_ids) {
    check_claim_request(request.owner, request.lease, run_id);
  }
  if (request.groups.empty()) return {};
  const SystemTime now = clock_.now();
  std::vector<std::string> groups;
  for (const GroupId& group : request.groups) groups.push_back(group.str());
  const std::string group_param = pg::array_param(groups);

  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  // The statements below are costed high (a subquery per group) but run in well under a
  // second; compiling them took a tenth of that on its own.
  conn->exec("SET LOCAL jit = off");
  conn->exec(pg::kClaimLockWait);
  // The same per-group locks as claim(), taken in one order so that two batches cannot
  // deadlock; a one-group claim() of any of these groups waits for this transaction.
  conn->exec(std::string("SELECT pg_advisory_xact_lock(") + pg::kClaimLockClass +
                 ", h) FROM (SELECT DISTINCT hashtext(g) AS h FROM unnest($1::text[]) AS g "
                 "ORDER BY 1) AS locks",
             {group_param});
  const std::vector<std::string> run_ids = insert_batch_runs(*conn, request, group_param, now);
  if (run_ids.empty()) {
    tx.commit();
    return {};
  }
  const std::string run_param = pg::array_param(run_ids);
  BatchClaims claims = insert_batch_claims(*conn, run_param);
  std::vector<ExportRun> result = std::move(claims.runs);
  const std::int64_t item_count = claims.item_count;
  if (result.size() != run_ids.size()) {
    // A group whose users were all marked between the two statements: its run claims nothing
    // and is left for claim() (which completes it empty); the lease is released.
    conn->exec(
        "UPDATE export_runs SET lease_owner = NULL, lease_expires_at = NULL "
        "WHERE run_id = ANY ($1::uuid[]) AND item_count = 0",
        {run_param});
  }
  std::sort(result.begin(), result.end(), [](const ExportRun& a, const ExportRun& b) {
    return a.group_id.str() < b.group_id.str();
  });
  std::unique_ptr<ClaimSnapshot> snapshot;
  if (item_count > 0 && !result.empty()) {
    std::vector<GroupId> snapshot_groups;
    for (const ExportRun& run : result) snapshot_groups.push_back(run.group_id);
    snapshot = import_snapshot(claims.snapshot_id, std::move(snapshot_groups), item_count);
  }
  tx.commit();
  if (snapshot) keep_snapshot(result.front().run_id, std::move(snapshot));
  return result;
}

void PostgresRepository::stream_batch(const std::vector<RunId>& run_ids,
                                      const std::vector<std::string>& fields,
                                      BatchRowHandler& handler) {
  if (run_ids.empty()) return;
  std::unique_ptr<ClaimSnapshot> snapshot = take_snapshot(run_ids.front());
  std::vector<Uuid> runs;
  for (const RunId& run_id : run_ids) {
    if (std::optional<Uuid> run = Uuid::parse(run_id.view())) runs.push_back(*run);
  }
  if (!snapshot || snapshot->group_ids.size() != run_ids.size() || runs.size() != run_ids.size() ||
      fields.empty()) {
    // No snapshot (a retry, another instance's batch, or one that could not be imported): each
    // run reads its own claim.
    snapshot.reset();
    Repository::stream_batch(run_ids, fields, handler);
    return;
  }
  require_known_source_fields(fields);
  std::map<std::string, std::size_t, std::less<>> index_of;  // group id -> run index
  std::vector<Uuid> groups;
  for (std::size_t i = 0; i < snapshot->group_ids.size(); ++i) {
    index_of.emplace(snapshot->group_ids[i].str(), i);
    groups.push_back(snapshot->group_ids[i].uuid());
  }

  std::size_t next = 0;  // the next run to begin
  std::string current_group;
  std::vector<std::optional<std::string_view>> row(fields.size() + 1);
  auto on_line = [&](char* line, std::size_t length) {
    if (!pg::split_copy_line(line, length, row) || !row.back()) {
      throw Error(ErrorCode::kDatabase,
                  "PostgreSQL sent a COPY row for a batch with a number of fields other than "
                  "the " +
                      std::to_string(fields.size() + 1) + " requested; report this as a bug");
    }
    if (*row.back() != current_group) {
      auto it = index_of.find(*row.back());
      if (it == index_of.end() || it->second < next) {
        throw Error(ErrorCode::kDatabase, "PostgreSQL streamed a user of group " +
                                              std::string(*row.back()) +
                                              " out of the batch's order; report this as a bug");
      }
      while (next <= it->second) handler.begin_run(next++);
      current_group = std::string(*row.back());
    }
    handler.on_row(RowView(row).first(fields.size()));
  };
  pg::Connection& conn = **snapshot->connection;
  // Batches run side by side, one per worker, which keeps the cores busy: parallel workers
  // would each build the same hash of other runs' claims again. The sort by group of a batch
  // of 250 groups of 1,000 users (about 80 MB of rows) stays in memory; spilled, it took a
  // third longer.
  conn.exec("SET LOCAL max_parallel_workers_per_gather = 0");
  conn.exec("SET LOCAL work_mem = '128MB'");
  conn.copy_out(pg::batch_snapshot_stream_copy_sql(runs, groups, fields), on_line);
  conn.exec("COMMIT");
  while (next < run_ids.size()) handler.begin_run(next++);  // runs that streamed nothing
}

std::vector<std::optional<Error>> PostgresRepository::commit_batch(
    const std::vector<CommitRequest>& requests) {
  std::vector<std::optional<Error>> outcomes(requests.size());
  if (requests.empty()) return outcomes;
  const SystemTime now = clock_.now();
  const std::string now_param = timestamp_param(now);
  // Run rows are locked in run-id order, so two batch commits never wait on each other in a
  // cycle.
  std::vector<std::size_t> order(requests.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return requests[a].run_id < requests[b].run_id; });

  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  std::vector<RunId> marked_runs;
  for (std::size_t i : order) {
    const CommitRequest& request = requests[i];
    std::optional<pg::ClaimedRun> run =
        pg::lock_live_lease(*conn, request.run_id, request.owner, request.attempt, now);
    if (!run) {
      try {
        pg::throw_lease_lost(*conn, request.run_id, request.owner, request.attempt, now, "commit");
      } catch (const Error& e) {
        outcomes[i] = e;
      }
      continue;
    }
    take_snapshot(request.run_id);
    if (request.mark_sent) marked_runs.push_back(request.run_id);
  }
  if (!marked_runs.empty()) {
    // One UPDATE for every run's users by id, looked up in the primary key: the claims name
    // exactly the users to mark, in whichever group they are now. (Joining on the groups'
    // partial index instead makes the planner read every claim in the table.) The ids are
    // sorted so that the users are visited in the table's order: run by run, a batch of
    // interleaved groups touched every page once per group and took more than twice as long.
    // The planner, which expects ten ids an array, would rather hash the whole table.
    conn->exec("SET LOCAL enable_hashjoin = off");
    conn->exec("SET LOCAL enable_mergejoin = off");
    conn->exec("SET LOCAL jit = off");
    conn->exec(
        "UPDATE users u SET sent_to_matching_service = true "
        "FROM (SELECT x.id FROM export_run_claims c CROSS JOIN LATERAL unnest(c.user_ids) AS x "
        "(id) WHERE c.run_id = ANY ($1::uuid[]) ORDER BY x.id) AS x "
        "WHERE u.id = x.id AND NOT u.sent_to_matching_service",
        {pg::array_param(marked_runs)});
    conn->exec("SET LOCAL enable_hashjoin = DEFAULT");
    conn->exec("SET LOCAL enable_mergejoin = DEFAULT");
    conn->exec("SET LOCAL jit = DEFAULT");
  }
  for (std::size_t i : order) {
    if (!outcomes[i]) pg::write_commit(*conn, requests[i], now_param);
  }
  fault_point("inside_commit");  // the runs' rows and users locked, nothing committed yet
  tx.commit();
  return outcomes;
}

}  // namespace user_export
