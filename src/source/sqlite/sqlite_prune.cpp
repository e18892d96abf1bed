// Retention on SQLite: finished history is deleted in short write transactions of at most
// `batch_rows` rows, so exporters and relays sharing the file wait for the write lock only briefly.
#include "source/sqlite/sqlite_repository.hpp"

namespace user_export {

using sqlite::Connection;
using sqlite::to_millis;
using sqlite::write_transaction;

namespace {

// Deletes up to `limit` messages delivered or dead-lettered before `cutoff`, oldest first.
std::int64_t delete_finished_messages(Connection& c, std::int64_t cutoff, std::int64_t limit) {
  return write_transaction(c, "prune outbox messages", [&](Connection& tx) {
    auto stmt = tx.prepare(
        "DELETE FROM export_outbox WHERE id IN (SELECT id FROM export_outbox "
        "WHERE state <> 'pending' AND published_at < ?1 ORDER BY id LIMIT ?2)",
        "prune outbox messages");
    stmt.bind(1, cutoff).bind(2, limit);
    stmt.run();
    return tx.changes();
  });
}

// Up to `limit` runs finished before `cutoff`, oldest first.
std::vector<PrunableRun> finished_runs(Connection& c, std::int64_t cutoff, std::int64_t limit) {
  auto stmt = c.prepare(
      "SELECT run_id, item_count FROM export_runs WHERE state IN ('completed', 'empty') "
      "AND updated_at < ?1 ORDER BY created_at, run_id LIMIT ?2",
      "list prunable runs");
  stmt.bind(1, cutoff).bind(2, limit);
  std::vector<PrunableRun> runs;
  while (stmt.step()) runs.push_back({RunId(stmt.text(0)), stmt.int64(1)});
  return runs;
}

// Deletes up to `limit` claimed users of the run, in user id order.
std::int64_t delete_items(Connection& c, const RunId& run_id, std::int64_t limit) {
  return write_transaction(c, "prune a run's claimed users", [&](Connection& tx) {
    auto stmt = tx.prepare(
        "DELETE FROM export_run_items WHERE run_id = ?1 AND user_id IN (SELECT user_id "
        "FROM export_run_items WHERE run_id = ?1 ORDER BY user_id LIMIT ?2)",
        "prune a run's claimed users");
    stmt.bind(1, run_id).bind(2, limit);
    stmt.run();
    return tx.changes();
  });
}

// Deletes the runs with what is left of their claims and messages, in one transaction. A run
// is deleted only while it is still finished and none of its messages is pending.
void delete_runs(Connection& c, const std::vector<PrunableRun>& runs, PruneCounts& counts) {
  PruneCounts deleted;
  write_transaction(c, "prune runs", [&](Connection& tx) {
    deleted = {};
    auto items = tx.prepare(
        "DELETE FROM export_run_items WHERE run_id = ?1 AND EXISTS (SELECT 1 FROM export_runs "
        "WHERE run_id = ?1 AND state IN ('completed', 'empty'))",
        "prune a run's claim");
    auto messages = tx.prepare(
        "DELETE FROM export_outbox WHERE run_id = ?1 AND state <> 'pending' AND EXISTS "
        "(SELECT 1 FROM export_runs WHERE run_id = ?1 AND state IN ('completed', 'empty'))",
        "prune a run's messages");
    auto staged = tx.prepare(
        "DELETE FROM export_outbox_staged WHERE run_id = ?1 AND EXISTS "
        "(SELECT 1 FROM export_runs WHERE run_id = ?1 AND state IN ('completed', 'empty'))",
        "prune a run's staged parts");
    auto run = tx.prepare(
        "DELETE FROM export_runs WHERE run_id = ?1 AND state IN ('completed', 'empty') "
        "AND NOT EXISTS (SELECT 1 FROM export_outbox WHERE run_id = ?1)",
        "prune a run");
    for (const PrunableRun& r : runs) {
      items.reset();
      items.bind(1, r.run_id).run();
      deleted.run_items += tx.changes();
      messages.reset();
      messages.bind(1, r.run_id).run();
      deleted.outbox += tx.changes();
      staged.reset();  // parts of attempts that never committed
      staged.bind(1, r.run_id).run();
      deleted.outbox += tx.changes();
      run.reset();
      run.bind(1, r.run_id).run();
      deleted.runs += tx.changes();
    }
  });
  counts.runs += deleted.runs;
  counts.run_items += deleted.run_items;
  counts.outbox += deleted.outbox;
}

}  // namespace

PruneCounts SqliteRepository::prune(const PruneRequest& request) {
  const std::int64_t cutoff = to_millis(request.older_than);
  auto conn = pool_.acquire();
  PruneSteps steps;
  steps.delete_messages = [&](std::int64_t batch) {
    return delete_finished_messages(*conn, cutoff, batch);
  };
  steps.finished_runs = [&](std::int64_t batch) { return finished_runs(*conn, cutoff, batch); };
  steps.delete_claim_part = [&](const RunId& run_id, std::int64_t batch) {
    const std::int64_t n = delete_items(*conn, run_id, batch);
    return std::pair{n, n >= batch};
  };
  steps.delete_runs = [&](const std::vector<PrunableRun>& group, PruneCounts& counts) {
    delete_runs(*conn, group, counts);
  };
  return run_prune(request, steps);
}

}  // namespace user_export
