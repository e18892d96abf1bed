#include "source/sqlite/sqlite_repository.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/error.hpp"
#include "support/contract/prune_contract.hpp"
#include "support/contract/repository_contract.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using testing::ContractBackend;
using testing::ContractDatabase;
using testing::PruneContract;
using testing::RepositoryContract;

using testing::TempDir;

/// A direct connection for the tests' own SQL, independent of the repository's pool.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~RawConnection() { sqlite3_close(db_); }
  sqlite3* handle() const { return db_; }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(message + " in: " + sql);
    }
  }
  std::optional<std::string> query_one(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in: " + sql);
    }
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      sqlite3_finalize(stmt);
      throw std::runtime_error("no row from: " + sql);
    }
    std::optional<std::string> out;
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out = std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteContractDatabase final : public ContractDatabase {
 public:
  SqliteContractDatabase() : file_((dir_.path() / "data" / "export.db").string()) {}

  std::unique_ptr<Repository> open(Clock& clock) override {
    return std::make_unique<SqliteRepository>(file_, clock);
  }
  void exec(const std::string& sql) override { raw().exec(sql); }
  std::optional<std::string> query_one(const std::string& sql) override {
    return raw().query_one(sql);
  }

 private:
  // Opened lazily: the repository creates the file and its directory.
  RawConnection& raw() {
    if (!raw_) raw_ = std::make_unique<RawConnection>(file_);
    return *raw_;
  }

  TempDir dir_;
  std::string file_;
  std::unique_ptr<RawConnection> raw_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, RepositoryContract,
                         ::testing::Values(ContractBackend{
                             "Sqlite", [] { return std::make_unique<SqliteContractDatabase>(); }}),
                         testing::contract_backend_name);
INSTANTIATE_TEST_SUITE_P(Sqlite, PruneContract,
                         ::testing::Values(ContractBackend{
                             "Sqlite", [] { return std::make_unique<SqliteContractDatabase>(); }}),
                         testing::contract_backend_name);

// ---- SQLite-specific behaviour ----

TEST(SqliteUrl, AbsolutePathIsAccepted) {
  EXPECT_EQ(SqliteRepository::path_from_url("sqlite:///var/lib/ue/export.db"),
            "/var/lib/ue/export.db");
  EXPECT_EQ(SqliteRepository::path_from_url("sqlite:///tmp/my%20dir/x.db"), "/tmp/my dir/x.db");
}

TEST(SqliteUrl, RelativeOrMalformedUrlsAreConfigErrors) {
  for (const char* url : {"sqlite://relative.db", "sqlite:relative.db", "sqlite:///",
                          "sqlite:///tmp/x.db?mode=ro", "file:///tmp/x.db", "sqlite://"}) {
    try {
      SqliteRepository::path_from_url(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig) << url;
      EXPECT_NE(std::string(e.what()).find("sqlite:///"), std::string::npos) << e.what();
    }
  }
}

TEST(SqliteRepositoryOpen, CreatesTheFileAndMissingParentDirectories) {
  TempDir dir;
  testing::FakeClock clock;
  const fs::path file = dir.path() / "a" / "b" / "export.db";
  SqliteRepository repo(file.string(), clock);
  repo.migrate();
  EXPECT_TRUE(fs::is_regular_file(file));
  RawConnection raw(file.string());
  EXPECT_EQ(raw.query_one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.query_one("SELECT count(*) FROM sqlite_master WHERE name = 'export_outbox'"), "1");
}

// The claim or commit of a group of millions of users holds SQLite's one write lock for a
// minute or more; other writers queue behind it rather than fail their attempts after ten
// seconds (docs/ARCHITECTURE.md, "SQLite: one writer at a time").
TEST(SqliteRepositoryOpen, AWriterQueuesBehindAnotherWritersLongTransaction) {
  EXPECT_GE(SqliteOptions{}.busy_timeout, std::chrono::minutes(5));
  TempDir dir;
  testing::FakeClock clock;
  const std::string file = (dir.path() / "export.db").string();
  SqliteOptions options;
  options.busy_timeout = std::chrono::seconds(30);
  SqliteRepository repo(file, clock, options);
  repo.migrate();
  RawConnection holder(file);
  holder.exec("BEGIN IMMEDIATE");
  std::thread release([&holder] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    holder.exec("COMMIT");
  });
  const auto started = std::chrono::steady_clock::now();
  PruneRequest request;
  request.older_than = clock.now();
  EXPECT_NO_THROW(repo.prune(request));
  release.join();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1000));
}

// Several connections live in one process (workers, lease keepers, the relay): each keeps
// 1 MiB of pages, not SQLite's default 2 MB, and an idle one in the pool gives its pages back
// (docs/ARCHITECTURE.md, "Memory").
TEST(SqliteRepositoryOpen, EachConnectionKeepsAtMostOneMebibyteOfPages) {
  TempDir dir;
  const std::string file = (dir.path() / "export.db").string();
  sqlite::Connection conn(file, std::chrono::seconds(1));
  sqlite::Statement size = conn.prepare("PRAGMA cache_size", "read the cache size");
  ASSERT_TRUE(size.step());
  EXPECT_EQ(size.int64(0), -1024);
}

unsigned mode_of(const fs::path& file) {
  return static_cast<unsigned>(fs::status(file).permissions()) & 0777;
}

// The database holds personal data: with the usual umask 022 it used to be created 0644.
TEST(SqliteRepositoryOpen, TheDatabaseAndItsWalFilesAreOwnerOnly) {
  TempDir dir;
  testing::FakeClock clock;
  const fs::path file = dir.path() / "export.db";
  const mode_t old_mask = umask(022);
  {
    SqliteRepository repo(file.string(), clock);
    repo.migrate();
    ASSERT_TRUE(fs::exists(file.string() + "-wal"));
    ASSERT_TRUE(fs::exists(file.string() + "-shm"));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      EXPECT_EQ(mode_of(file.string() + suffix), 0600u) << suffix;
    }
  }
  // Files an earlier version left readable by others are made private on the next open.
  fs::permissions(file, fs::perms(0644));
  { std::ofstream(file.string() + "-journal") << ""; }
  fs::permissions(file.string() + "-journal", fs::perms(0664));
  {
    SqliteRepository repo(file.string(), clock);
    repo.migrate();
    EXPECT_EQ(mode_of(file), 0600u);
    EXPECT_EQ(mode_of(file.string() + "-journal"), 0600u);
  }
  umask(old_mask);
}

TEST(SqliteRepositoryOpen, AFileThatIsNotADatabaseIsADatabaseError) {
  TempDir dir;
  testing::FakeClock clock;
  const fs::path file = dir.path() / "notes.db";
  std::ofstream(file) << "these are not the pages of an SQLite database, just some text that is "
                         "long enough to fill a header\n";
  try {
    SqliteRepository repo(file.string(), clock);
    repo.migrate();
    FAIL() << "opening a text file as a database must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}

TEST(SqliteRepositoryOpen, AnUncreatableDirectoryIsADatabaseError) {
  TempDir dir;
  testing::FakeClock clock;
  const fs::path blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  try {
    SqliteRepository repo((blocker / "sub" / "export.db").string(), clock);
    FAIL() << "a path below a regular file must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase);
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

/// The database file's bytes and the names of the files beside it.
std::pair<std::string, std::vector<std::string>> files_of(const fs::path& db) {
  std::ifstream in(db, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(db.parent_path())) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return {bytes, names};
}

TEST(SqliteRepositoryReadOnly, ReadingLeavesTheFilesByteForByteWithOrWithoutAWalLeftBehind) {
  TempDir dir;
  testing::FakeClock clock;
  const fs::path file = dir.path() / "export.db";
  {
    SqliteRepository repo(file.string(), clock);
    repo.migrate();
  }
  SqliteOptions read_only;
  read_only.read_only = true;
  auto read = [&] {
    SqliteRepository repo(file.string(), clock, read_only);
    EXPECT_TRUE(repo.recent_runs(10).empty());
    EXPECT_EQ(repo.claimable_users(GroupId::parse("a0000002-0000-4000-8000-000000000001")), 0);
  };
  const auto clean = files_of(file);
  read();
  EXPECT_EQ(files_of(file), clean) << "a checkpointed database changed";

  {  // a writer that ended without checkpointing leaves its WAL behind
    RawConnection writer(file.string());
    writer.exec(
        "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
        "VALUES ('a0000002-0000-4000-8000-000000000009', "
        "'a0000001-0000-4000-8000-000000000001', 'g', 'COST_BASED', 1, '2025-01-01')");
    sqlite3_db_config(writer.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  ASSERT_TRUE(fs::exists(file.string() + "-wal"));
  const auto with_wal = files_of(file);
  read();
  EXPECT_EQ(files_of(file), with_wal) << "the WAL was checkpointed into the database file";
  EXPECT_THROW(SqliteRepository((dir.path() / "absent.db").string(), clock, read_only), Error);
  EXPECT_FALSE(fs::exists(dir.path() / "absent.db"));
}

TEST(SqliteRepositoryLocking, AWriterBlockedBeyondTheBusyTimeoutGetsARetriableError) {
  TempDir dir;
  testing::FakeClock clock;
  const std::string file = (dir.path() / "export.db").string();
  SqliteRepository repo(file, clock, SqliteOptions{std::chrono::milliseconds{0}, 2});
  repo.migrate();
  RawConnection other(file);
  other.exec("BEGIN IMMEDIATE");  // another process holding the write lock
  ClaimRequest request;
  request.group_id = GroupId::parse("a0000002-0000-4000-8000-000000000001");
  request.domain_id = DomainId::parse("a0000001-0000-4000-8000-000000000001");
  request.owner = OwnerId("me");
  request.new_run_id = RunId("a0000004-0000-4000-8000-000000000001");
  try {
    repo.claim(request);
    FAIL() << "claim must not succeed while another connection holds the write lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase);
    EXPECT_TRUE(e.retriable());
    const std::string what = e.what();
    EXPECT_NE(what.find("claim a run"), std::string::npos) << what;
    EXPECT_NE(what.find("locked"), std::string::npos) << what;
  }
  other.exec("ROLLBACK");
  // Once the lock is gone the same repository works again.
  EXPECT_EQ(repo.claim(request).state, RunState::kClaimed);
}

TEST(SqliteRepositoryLocking, MigrateFromTwoProcessesAtOnce) {
  TempDir dir;
  const std::string file = (dir.path() / "export.db").string();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      SystemClock clock;
      SqliteRepository repo(file, clock);
      repo.migrate();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child migrate failed: %s\n", e.what());
      code = 1;
    }
    _exit(code);
  }
  testing::FakeClock clock;
  SqliteRepository repo(file, clock);
  EXPECT_NO_THROW(repo.migrate());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child migrate failed";
  RawConnection raw(file);
  EXPECT_EQ(raw.query_one("SELECT count(*) FROM schema_version"),
            std::to_string(repo.schema_version()));
}

TEST(SqliteRepositoryPlan, StreamingWalksTheItemsKeyWithoutSorting) {
  TempDir dir;
  testing::FakeClock clock;
  const std::string file = (dir.path() / "export.db").string();
  SqliteRepository repo(file, clock);
  repo.migrate();
  std::string plan;
  const std::string sql =
      "EXPLAIN QUERY PLAN " + SqliteRepository::stream_query(known_source_fields());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += '\n';
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  EXPECT_NE(plan.find("SEARCH i USING PRIMARY KEY (run_id=?)"), std::string::npos) << plan;
}

/// CPU time of this process, to tell the work apart from waiting on a busy machine.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Run by hand: sqlite_repository_test --gtest_also_run_disabled_tests
// --gtest_filter='*Benchmark*' (UE_BENCH_USERS overrides the user count).
TEST(SqliteRepositoryBenchmark, DISABLED_SeedClaimStreamCommit) {
  TempDir dir;
  SystemClock clock;
  const std::string file = (dir.path() / "bench.db").string();
  SqliteRepository repo(file, clock);
  repo.migrate();
  SeedPlan plan;
  plan.domain_id = DomainId::parse("a0000001-0000-4000-8000-000000000001");
  plan.users = 1'000'000;
  if (const char* n = std::getenv("UE_BENCH_USERS")) plan.users = std::atoll(n);
  plan.groups = 2;
  using Ms = std::chrono::duration<double, std::milli>;
  double c0 = cpu_ms();
  auto t0 = std::chrono::steady_clock::now();
  repo.seed(plan, nullptr);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("seed %lld users: %.0f ms (cpu %.0f ms)\n", static_cast<long long>(plan.users),
              Ms(t1 - t0).count(), cpu_ms() - c0);

  const auto groups = repo.active_groups(plan.domain_id);
  ClaimRequest request;
  request.group_id = groups.at(0).id;
  request.domain_id = plan.domain_id;
  request.owner = OwnerId("bench");
  request.new_run_id = RunId("a0000004-0000-4000-8000-000000000001");
  t0 = std::chrono::steady_clock::now();
  const ExportRun run = repo.claim(request);
  t1 = std::chrono::steady_clock::now();
  std::printf("claim %lld users: %.0f ms\n", static_cast<long long>(run.item_count),
              Ms(t1 - t0).count());

  struct Count : RowHandler {
    std::size_t rows = 0, bytes = 0;
    void on_row(RowView row) override {
      ++rows;
      for (const auto& v : row) bytes += v ? v->size() : 0;
    }
  } counter;
  t0 = std::chrono::steady_clock::now();
  repo.stream_rows(run.run_id, known_source_fields(), counter);
  t1 = std::chrono::steady_clock::now();
  std::printf("stream %zu rows (%zu bytes of values): %.0f ms\n", counter.rows, counter.bytes,
              Ms(t1 - t0).count());

  CommitRequest commit;
  commit.run_id = run.run_id;
  commit.owner = OwnerId("bench");
  commit.attempt = run.attempts;
  t0 = std::chrono::steady_clock::now();
  repo.commit(commit);
  t1 = std::chrono::steady_clock::now();
  std::printf("commit (mark %lld users sent): %.0f ms\n", static_cast<long long>(run.item_count),
              Ms(t1 - t0).count());
  EXPECT_EQ(static_cast<std::int64_t>(counter.rows), run.item_count);
}

}  // namespace
}  // namespace user_export
