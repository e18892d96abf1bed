// Retention on PostgreSQL: finished history is deleted in short transactions of at most
// `batch_rows` rows (one claim chunk of up to 65,536 user ids is the smallest unit of a claim),
// each under the program's idle-in-transaction limit, so no prune holds locks for long.
#include <algorithm>

#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export {

using pg::timestamp_param;

namespace {

// User ids one claim chunk (export_run_claims row) holds at most.
constexpr std::int64_t kIdsPerChunk = 65'536;

// Deletes up to `limit` messages delivered or dead-lettered before `cutoff`, oldest first, in
// one statement (its own transaction).
std::int64_t delete_finished_messages(pg::Connection& c, const std::string& cutoff,
                                      std::int64_t limit) {
  return c
      .exec(
          "DELETE FROM export_outbox WHERE id IN (SELECT id FROM export_outbox "
          "WHERE state <> 'pending' AND published_at < $1::timestamptz ORDER BY id LIMIT $2)",
          {cutoff, std::to_string(limit)})
      .affected();
}

// Up to `limit` runs finished before `cutoff`, oldest first.
std::vector<PrunableRun> finished_runs(pg::Connection& c, const std::string& cutoff,
                                       std::int64_t limit) {
  pg::Result r = c.exec(
      "SELECT run_id::text, item_count FROM export_runs WHERE state IN ('completed', 'empty') "
      "AND updated_at < $1::timestamptz ORDER BY created_at, created_seq LIMIT $2",
      {cutoff, std::to_string(limit)});
  std::vector<PrunableRun> runs;
  for (int i = 0; i < r.rows(); ++i) runs.push_back({RunId(r.text(i, 0)), r.int64(i, 1)});
  return runs;
}

// Deletes the first `chunks` chunks of the run's claim in one statement; returns the number of
// (run, user) pairs deleted and whether any chunk was.
std::pair<std::int64_t, bool> delete_claim_chunks(pg::Connection& c, const RunId& run_id,
                                                  std::int64_t chunks) {
  pg::Result r = c.exec(
      "WITH gone AS (DELETE FROM export_run_claims WHERE run_id = $1::uuid AND chunk IN "
      "(SELECT chunk FROM export_run_claims WHERE run_id = $1::uuid ORDER BY chunk LIMIT $2) "
      "RETURNING cardinality(user_ids) AS ids) SELECT count(*), coalesce(sum(ids), 0) FROM gone",
      {run_id.str(), std::to_string(chunks)});
  return {r.int64(0, 1), r.int64(0, 0) > 0};
}

// Deletes the runs with what is left of their claims and messages, in one transaction. A run
// is deleted only while it is still finished and none of its messages is pending.
void delete_runs(pg::Connection& c, const std::vector<PrunableRun>& runs, PruneCounts& counts) {
  std::vector<std::string> ids;
  for (const PrunableRun& run : runs) ids.push_back(run.run_id.str());
  const std::string param = pg::array_param(ids);
  pg::Transaction tx(c);
  // The runs are locked first, in id order, so a concurrent pruner waits instead of deadlocking.
  pg::Result locked = c.exec(
      "SELECT run_id::text FROM export_runs WHERE run_id = ANY ($1::uuid[]) "
      "AND state IN ('completed', 'empty') ORDER BY run_id FOR UPDATE",
      {param});
  std::vector<std::string> finished;
  for (int i = 0; i < locked.rows(); ++i) finished.push_back(locked.text(i, 0));
  if (finished.empty()) return;  // rolled back: nothing was written
  const std::string held = pg::array_param(finished);
  PruneCounts deleted;
  deleted.run_items =
      c.exec(
           "WITH gone AS (DELETE FROM export_run_claims WHERE run_id = ANY ($1::uuid[]) "
           "RETURNING cardinality(user_ids) AS ids) SELECT coalesce(sum(ids), 0) FROM gone",
           {held})
          .int64(0, 0);
  deleted.outbox = c.exec(
                        "DELETE FROM export_outbox WHERE run_id = ANY ($1::uuid[]) "
                        "AND state <> 'pending'",
                        {held})
                       .affected();
  deleted.outbox +=
      c.exec("DELETE FROM export_outbox_staged WHERE run_id = ANY ($1::uuid[])", {held})
          .affected();  // parts of attempts that never committed
  deleted.runs = c.exec(
                      "DELETE FROM export_runs r WHERE r.run_id = ANY ($1::uuid[]) AND NOT EXISTS "
                      "(SELECT 1 FROM export_outbox o WHERE o.run_id = r.run_id)",
                      {held})
                     .affected();
  tx.commit();
  counts.runs += deleted.runs;
  counts.run_items += deleted.run_items;
  counts.outbox += deleted.outbox;
}

}  // namespace

PruneCounts PostgresRepository::prune(const PruneRequest& request) {
  const std::string cutoff = timestamp_param(request.older_than);
  auto conn = pool_.acquire();
  PruneSteps steps;
  steps.delete_messages = [&](std::int64_t batch) {
    return delete_finished_messages(*conn, cutoff, batch);
  };
  steps.finished_runs = [&](std::int64_t batch) { return finished_runs(*conn, cutoff, batch); };
  steps.delete_claim_part = [&](const RunId& run_id, std::int64_t batch) {
    // A claim is stored in chunks of up to kIdsPerChunk ids: the smallest unit to delete.
    return delete_claim_chunks(*conn, run_id, std::max<std::int64_t>(1, batch / kIdsPerChunk));
  };
  steps.delete_runs = [&](const std::vector<PrunableRun>& group, PruneCounts& counts) {
    delete_runs(*conn, group, counts);
  };
  return run_prune(request, steps);
}

}  // namespace user_export
