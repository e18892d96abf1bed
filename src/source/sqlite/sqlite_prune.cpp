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
  while (stmt.step()) runs.push_back({stmt.text(0), stmt.int64(1)});
  return runs;
}

// Deletes up to `limit` claimed users of the run, in user id order.
std::int64_t delete_items(Connection& c, const std::string& run_id, std::int64_t limit) {
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
  check_prune_request(request);
  const std::int64_t cutoff = to_millis(request.older_than);
  const std::int64_t batch = request.batch_rows;
  PruneCounts counts;
  auto conn = pool_.acquire();
  for (;;) {
    const std::int64_t n = delete_finished_messages(*conn, cutoff, batch);
    counts.outbox += n;
    if (n < batch || request.stopped()) break;
  }
  for (;;) {
    if (request.stopped()) break;
    const std::vector<PrunableRun> runs = finished_runs(*conn, cutoff, batch);
    if (runs.empty()) break;
    const std::int64_t runs_before = counts.runs;
    for (const std::vector<PrunableRun>& group : prune_groups(runs, batch)) {
      if (request.stopped()) break;
      if (group.size() == 1 && group.front().item_count >= batch) {
        for (;;) {
          const std::int64_t n = delete_items(*conn, group.front().run_id, batch);
          counts.run_items += n;
          if (n < batch || request.stopped()) break;
        }
      }
      if (request.stopped()) break;  // a large run's claim may be half deleted: it stays finished
      delete_runs(*conn, group, counts);
    }
    // Runs listed but not deleted (another pruner got there first, or a message of theirs is
    // still pending) would be listed again: stop rather than loop.
    if (counts.runs == runs_before) break;
  }
  return counts;
}

}  // namespace user_export
