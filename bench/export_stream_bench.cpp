// Times the streaming step of a cost-based export on a real database, exactly as FileExporter
// runs it: Repository::stream_rows -> CsvWriter (masking, guard, quoting) -> GzipFileSink into
// the staging directory, with the lease kept alive on the way. Run by scripts/bench.sh beside
// psql on the same rows (BENCHMARKS.md).
//
// Usage: export_stream_bench CONFIG [REPEATS] [GROUP_ID]
//   CONFIG    a PostgreSQL user-export TOML file (database, staging dir, [csv]); the
//             environment applies
//   REPEATS   times to claim and stream the group (default 3); 0 only claims once and prints
//             the SELECT
//   GROUP_ID  the group to claim (default: the domain's first active COST_BASED group)
// Each repeat claims the group anew under the owner `export_stream_bench` (not timed), streams
// that fresh claim as the exporter's first attempt does (under the claim's snapshot; timed), and
// then deletes the run and its claim, so nothing changes and every repeat reads the same rows.
// Output, one `key: value` line each, for the script to parse:
//   claim: <users> users in <s> s (run <id>)
//   select: <the SELECT the repository streams, without COPY (…) TO STDOUT>
//   stream: <rows> rows, <csv bytes> CSV bytes, <gz bytes> gzip bytes in <s> s (client CPU <s> s)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/uuid.hpp"
#include "config/config_loader.hpp"
#include "config/environment.hpp"
#include "exporter/lease_keeper.hpp"
#include "format/csv_writer.hpp"
#include "format/gzip_file_sink.hpp"
#include "format/masker.hpp"
#include "format/staging_dir.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/repository.hpp"

namespace {

using namespace user_export;

/// The exporter's row handler: one CSV row per streamed row, a lease tick every 16,384 rows.
class CsvRowHandler final : public RowHandler {
 public:
  CsvRowHandler(CsvWriter& writer, LeaseKeeper& lease) : writer_(writer), lease_(lease) {}
  void on_row(RowView row) override {
    writer_.write_row(row);
    if ((++rows_ & 0x3fff) == 0) lease_.tick();
  }

 private:
  CsvWriter& writer_;
  LeaseKeeper& lease_;
  std::uint64_t rows_ = 0;
};

/// CPU seconds (user + system) this process has used so far.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The group to claim: `wanted` if given, else the domain's first active COST_BASED group.
MatchingGroup pick_group(Repository& repo, const DomainId& domain, const char* wanted) {
  if (wanted != nullptr) {
    auto group = repo.find_group(GroupId::parse(wanted));
    if (!group) throw Error(ErrorCode::kInvalidInput, std::string("no group ") + wanted);
    return *group;
  }
  for (const auto& group : repo.active_groups(domain)) {
    if (group.type_name == "COST_BASED") return group;
  }
  throw Error(ErrorCode::kInvalidInput,
              "the domain " + domain.str() + " has no active COST_BASED group; seed one first");
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [REPEATS] [GROUP_ID]\n", argv[0]);
    return 2;
  }
  const Config config = load_config(argv[1], Environment::from_process());
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  SystemClock clock;
  SystemRandom random;
  auto repo = open_repository(config.database.url, clock);
  StagingDir staging(config.export_.staging_dir);

  auto* postgres = dynamic_cast<PostgresRepository*>(repo.get());
  if (postgres == nullptr) {
    throw Error(ErrorCode::kConfig, "export_stream_bench needs a postgresql:// database URL");
  }
  const DomainId domain = DomainId::parse(config.export_.domain_id);
  const MatchingGroup group = pick_group(*repo, domain, argc > 3 ? argv[3] : nullptr);
  std::vector<std::string> fields;
  std::vector<MaskMode> masks;
  for (const auto& column : config.csv.columns) {
    fields.push_back(column.source);
    masks.push_back(column.mask);
  }
  ClaimRequest request;
  request.group_id = group.id;
  request.domain_id = domain;
  request.slot = std::chrono::floor<std::chrono::seconds>(clock.now());
  request.owner = OwnerId("export_stream_bench");
  request.lease = std::chrono::seconds{3600};

  // A fresh claim of the group; the run is deleted again by forget().
  auto claim = [&] {
    request.new_run_id = RunId(Uuid::random(random).str());
    const auto start = std::chrono::steady_clock::now();
    ExportRun run = repo->claim(request);
    if (run.resumed || run.state != RunState::kClaimed) {
      throw Error(ErrorCode::kInvalidInput, "group " + group.id.str() +
                                                " already has a run for this slot or an "
                                                "unfinished one; use a fresh copy of the data");
    }
    std::printf("claim: %lld users in %.3f s (run %s)\n", static_cast<long long>(run.item_count),
                seconds_since(start), run.run_id.str().c_str());
    return run;
  };
  auto forget = [&](const ExportRun& run) {
    auto conn = postgres->pool().acquire();
    pg::Transaction tx(*conn);
    conn->exec("DELETE FROM export_run_claims WHERE run_id = $1", {run.run_id.str()});
    conn->exec("DELETE FROM export_runs WHERE run_id = $1", {run.run_id.str()});
    tx.commit();
  };

  if (repeats == 0) {
    const ExportRun run = claim();
    const std::string sql =
        pg::snapshot_stream_copy_sql(*Uuid::parse(run.run_id.view()), group.id.uuid(), fields);
    // Without the leading "COPY (" and the trailing ") TO STDOUT".
    std::printf("select: %s\n", sql.substr(6, sql.size() - 6 - 11).c_str());
    forget(run);
  }
  std::fflush(stdout);

  const auto path = staging.file_for("export_stream_bench");
  for (int i = 0; i < repeats; ++i) {
    const ExportRun run = claim();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    const auto start = std::chrono::steady_clock::now();
    const double cpu = cpu_seconds();
    GzipFileSink sink(path, config.csv.gzip_level);
    CsvWriter writer(config.csv, Masker(masks, config.hash_key), sink);
    writer.write_header();
    LeaseKeeper lease(*repo, clock, {run.run_id, run.attempts}, request.owner, request.lease);
    CsvRowHandler handler(writer, lease);
    repo->stream_rows(run.run_id, fields, handler);
    writer.flush();
    const FileDigest digest = sink.finish();
    const double seconds = seconds_since(start);
    if (writer.rows() != run.item_count) {
      throw Error(ErrorCode::kInternal, "claimed " + std::to_string(run.item_count) +
                                            " users but streamed " + std::to_string(writer.rows()));
    }
    std::printf(
        "stream: %lld rows, %lld CSV bytes, %lld gzip bytes in %.3f s (client CPU %.3f s)\n",
        static_cast<long long>(writer.rows()), static_cast<long long>(writer.bytes()),
        static_cast<long long>(digest.bytes), seconds, cpu_seconds() - cpu);
    std::fflush(stdout);
    forget(run);
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_stream_bench: %s\n", e.what());
    return 1;
  }
}
