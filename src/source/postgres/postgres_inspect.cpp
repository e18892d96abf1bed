// Read-only inspection on PostgreSQL (`plan`, `verify`): plain SELECTs and COPY TO, nothing
// written.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/copy_text.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/source_fields.hpp"

namespace user_export {

std::optional<ExportRun> PostgresRepository::unfinished_run(const GroupId& group) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(std::string("SELECT ") + pg::kRunColumns +
                                " FROM export_runs WHERE group_id = $1 AND state = 'claimed' "
                                "ORDER BY created_at, created_seq LIMIT 1",
                            {group.str()});
  if (r.rows() == 0) return std::nullopt;
  return pg::read_run(r, 0);
}

std::int64_t PostgresRepository::claimable_users(const GroupId& group) {
  auto conn = pool_.acquire();
  return conn
      ->exec("SELECT count(*) FROM users u WHERE " +
                 pg::claimable_users_condition("$1", "'00000000-0000-0000-0000-000000000000'"),
             {group.str()})
      .int64(0, 0);
}

void PostgresRepository::stream_claimable(const GroupId& group,
                                          const std::vector<std::string>& fields,
                                          RowHandler& handler) {
  if (fields.empty()) throw Error(ErrorCode::kConfig, "no source fields requested");
  require_known_source_fields(fields);
  std::vector<std::optional<std::string_view>> row(fields.size());
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  conn->exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
  conn->copy_out(pg::claimable_stream_copy_sql(group.uuid(), fields), [&](char* line,
                                                                          std::size_t length) {
    if (!pg::split_copy_line(line, length, row)) {
      throw Error(ErrorCode::kDatabase, "PostgreSQL sent a COPY row for group " + group.str() +
                                            " with another number of fields than requested; report "
                                            "this as a bug");
    }
    handler.on_row(RowView(row));
  });
  tx.commit();
}

FileRunTotals PostgresRepository::file_run_totals(const std::optional<GroupId>& group) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(
      "SELECT count(*), coalesce(sum(row_count), 0)::bigint, coalesce(sum(byte_count), 0)::bigint "
      "FROM export_runs WHERE state IN ('committed', 'completed') AND object_key IS NOT NULL "
      "AND row_count > 0 AND ($1::uuid IS NULL OR group_id = $1::uuid)",
      {group ? pg::Param(group->str()) : pg::Param()});
  return FileRunTotals{r.int64(0, 0), r.int64(0, 1), r.int64(0, 2)};
}

std::vector<ExportRun> PostgresRepository::finished_runs_since(SystemTime since) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(std::string("SELECT ") + pg::kRunColumns +
                                " FROM export_runs WHERE state IN ('committed', 'completed') "
                                "AND created_at >= $1::timestamptz ORDER BY created_at, "
                                "created_seq",
                            {pg::timestamp_param(since)});
  std::vector<ExportRun> runs;
  runs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) runs.push_back(pg::read_run(r, i));
  return runs;
}

std::int64_t PostgresRepository::claimed_users_sent(const RunId& run_id) {
  if (!Uuid::parse(run_id.view())) return 0;
  auto conn = pool_.acquire();
  return conn
      ->exec(
          "SELECT count(*) FROM export_run_claims c CROSS JOIN LATERAL unnest(c.user_ids) AS x "
          "(id) JOIN users u ON u.id = x.id WHERE c.run_id = $1 AND u.sent_to_matching_service",
          {run_id.str()})
      .int64(0, 0);
}

std::vector<RunMessage> PostgresRepository::run_messages(const RunId& run_id) {
  if (!Uuid::parse(run_id.view())) return {};
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(
      "SELECT id, seq, topic, message_key, payload, headers, state, attempts, last_error, "
      "(extract(epoch FROM created_at) * 1000000)::bigint, "
      "(extract(epoch FROM published_at) * 1000000)::bigint "
      "FROM export_outbox WHERE run_id = $1 ORDER BY seq, id",
      {run_id.str()});
  std::vector<RunMessage> messages;
  messages.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    RunMessage& m = messages.emplace_back();
    m.outbox_id = r.int64(i, 0);
    m.seq = static_cast<int>(r.int64(i, 1));
    m.topic = r.text(i, 2);
    m.key = r.text(i, 3);
    m.payload = r.text(i, 4);
    m.headers = headers_from_json(r.view(i, 5), m.outbox_id);
    m.state = r.text(i, 6);
    m.attempts = static_cast<int>(r.int64(i, 7));
    if (!r.is_null(i, 8)) m.last_error = r.text(i, 8);
    m.created_at = pg::from_micros(r.int64(i, 9));
    if (!r.is_null(i, 10)) m.published_at = pg::from_micros(r.int64(i, 10));
  }
  return messages;
}

}  // namespace user_export
