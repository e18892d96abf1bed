// Step 2 on PostgreSQL: the claimed rows through `COPY (SELECT …) TO STDOUT`.
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/postgres/copy_text.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/source_fields.hpp"

namespace user_export {
namespace {

// Below this many rows a stream does not start parallel workers: launching one costs more than
// it saves on a small group, and a run of many small groups keeps every core busy already.
constexpr std::int64_t kParallelStreamRows = 10'000;

}  // namespace

void PostgresRepository::stream_rows(const RunId& run_id, const std::vector<std::string>& fields,
                                     RowHandler& handler) {
  if (fields.empty()) {
    throw Error(ErrorCode::kConfig,
                "no source fields requested; configure at least one CSV "
                "column");
  }
  require_known_source_fields(fields);
  std::optional<Uuid> run = Uuid::parse(run_id.view());
  std::vector<std::optional<std::string_view>> row(fields.size());
  auto on_line = [&](char* line, std::size_t length) {
    if (!pg::split_copy_line(line, length, row)) {
      throw Error(ErrorCode::kDatabase, "PostgreSQL sent a COPY row for run " + run_id.str() +
                                            " with a number of fields "
                                            "other than the " +
                                            std::to_string(fields.size()) +
                                            " requested; report this as a bug");
    }
    handler.on_row(RowView(row));
  };

  // A run claimed by this process a moment ago: its snapshot is still open, and the claimed
  // users are the group's claimable users in that snapshot, read without touching the claim.
  std::unique_ptr<ClaimSnapshot> snapshot = run ? take_snapshot(run_id) : nullptr;
  if (snapshot && snapshot->group_ids.size() == 1) {
    pg::Connection& conn = **snapshot->connection;
    if (snapshot->item_count < kParallelStreamRows) {
      conn.exec("SET LOCAL max_parallel_workers_per_gather = 0");
    }
    // The profiles join by merge on profiles' primary key, and the sort by id in memory: a
    // hash join scans and hashes every profile for each group (spilling at the default
    // work_mem), which made a group of a tenth of the users cost half a full-table COPY.
    // docs/POSTGRES.md, "Stream".
    conn.exec("SET LOCAL enable_hashjoin = off");
    conn.exec("SET LOCAL work_mem = '64MB'");
    conn.copy_out(pg::snapshot_stream_copy_sql(*run, snapshot->group_ids.front().uuid(), fields),
                  on_line);
    conn.exec("COMMIT");
    return;
  }

  snapshot.reset();  // a batch's snapshot: this run alone reads its claim
  auto conn = pool_.acquire();
  if (run) {
    pg::Result exists = conn->exec("SELECT 1 FROM export_runs WHERE run_id = $1", {run->str()});
    if (exists.rows() == 0) run.reset();
  }
  if (!run) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot stream run " + run_id.str() + ": there is no such run; claim it first");
  }
  // Chunk by chunk, each one's users sorted by the server, in one snapshot.
  pg::Transaction tx(*conn);
  conn->exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
  conn->exec("SET LOCAL max_parallel_workers_per_gather = 0");  // a chunk is small
  pg::Result chunks = conn->exec(
      "SELECT chunk FROM export_run_claims WHERE run_id = $1 ORDER BY chunk", {run->str()});
  for (int i = 0; i < chunks.rows(); ++i) {
    conn->copy_out(pg::stream_copy_sql(*run, chunks.int64(i, 0), fields), on_line);
  }
  tx.commit();
}

}  // namespace user_export
