#include "source/postgres/postgres_repository.hpp"

#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/postgres/migrations.hpp"
#include "source/postgres/pg_url.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export {

namespace {

constexpr std::size_t kDefaultPoolSize = 8;

std::size_t pool_size_for(const pg::UrlSettings& settings, std::size_t requested) {
  if (requested > 0) return requested;
  if (settings.pool_size > 0) return settings.pool_size;
  return kDefaultPoolSize;
}

}  // namespace

PostgresRepository::PostgresRepository(const std::string& url, Clock& clock, std::size_t pool_size)
    : PostgresRepository(pg::parse_url(url), clock, pool_size) {}

PostgresRepository::PostgresRepository(const pg::UrlSettings& settings, Clock& clock,
                                       std::size_t pool_size)
    : clock_(clock), pool_(settings.uri, pool_size_for(settings, pool_size)) {}

void PostgresRepository::migrate() {
  auto conn = pool_.acquire();
  pg::apply_migrations(*conn);
}

int PostgresRepository::schema_version() {
  auto conn = pool_.acquire();
  return pg::current_schema_version(*conn);
}

std::vector<MatchingGroup> PostgresRepository::active_groups(const DomainId& domain) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(std::string("SELECT ") + pg::kGroupColumns +
                                " FROM matching_groups WHERE domain_id = $1 AND active "
                                "ORDER BY id",
                            {domain.str()});
  std::vector<MatchingGroup> groups;
  groups.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) groups.push_back(pg::read_group(r, i));
  return groups;
}

std::optional<MatchingGroup> PostgresRepository::find_group(const GroupId& id) {
  auto conn = pool_.acquire();
  pg::Result r =
      conn->exec(std::string("SELECT ") + pg::kGroupColumns + " FROM matching_groups WHERE id = $1",
                 {id.str()});
  if (r.rows() == 0) return std::nullopt;
  return pg::read_group(r, 0);
}

std::vector<ExportRun> PostgresRepository::list_runs(const RunFilter& filter) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(
      std::string("SELECT ") + pg::kRunColumns +
          " FROM export_runs WHERE ($1::uuid IS NULL OR group_id = $1::uuid) AND ($2::text IS "
          "NULL OR state = $2::text) AND ($3::timestamptz IS NULL OR created_at >= "
          "$3::timestamptz) ORDER BY created_at DESC, created_seq DESC LIMIT $4",
      {filter.group ? pg::Param(filter.group->str()) : std::nullopt,
       filter.state ? pg::Param(to_string(*filter.state)) : std::nullopt,
       filter.since ? pg::Param(pg::timestamp_param(*filter.since)) : std::nullopt,
       std::to_string(filter.limit)});
  std::vector<ExportRun> runs;
  runs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) runs.push_back(pg::read_run(r, i));
  return runs;
}

std::vector<ExportRun> PostgresRepository::runs_to_sweep(SystemTime since, std::int64_t min_bytes,
                                                         std::size_t limit) {
  auto conn = pool_.acquire();
  pg::Result r = conn->exec(
      std::string("SELECT ") + pg::kRunColumns +
          " FROM export_runs WHERE state = 'claimed' OR (created_at >= $1::timestamptz AND "
          "(attempts > 1 OR byte_count >= $2::bigint)) "
          "ORDER BY created_at DESC, created_seq DESC LIMIT $3",
      {pg::timestamp_param(since), std::to_string(min_bytes), std::to_string(limit)});
  std::vector<ExportRun> runs;
  runs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) runs.push_back(pg::read_run(r, i));
  return runs;
}

std::optional<ExportRun> PostgresRepository::find_run(const RunId& run_id) {
  if (!Uuid::parse(run_id.view())) return std::nullopt;  // never stored, and not castable to uuid
  auto conn = pool_.acquire();
  pg::Result r =
      conn->exec(std::string("SELECT ") + pg::kRunColumns + " FROM export_runs WHERE run_id = $1",
                 {run_id.str()});
  if (r.rows() == 0) return std::nullopt;
  return pg::read_run(r, 0);
}

std::int64_t PostgresRepository::claimed_users_remaining(const RunId& run_id) {
  if (!Uuid::parse(run_id.view())) return 0;
  auto conn = pool_.acquire();
  return conn
      ->exec(
          "SELECT count(*) FROM export_run_claims c CROSS JOIN LATERAL unnest(c.user_ids) AS x "
          "(id) JOIN users u ON u.id = x.id WHERE c.run_id = $1",
          {run_id.str()})
      .int64(0, 0);
}

std::unique_ptr<Repository> make_postgres_repository(const std::string& url, Clock& clock) {
  auto repository = std::make_unique<PostgresRepository>(url, clock);
  // Connect once now so that a wrong URL, password or unreachable server fails at startup.
  repository->pool().acquire();
  return repository;
}

}  // namespace user_export
