// One writer per run (docs/ARCHITECTURE.md, "One writer per run"): two workers on one run, a
// stalled writer after a takeover, an upload slower than the lease, a lost lease during the
// upload, and a one-shot export in the same second. Every case checks the real outcome: the
// committed object's bytes and SHA-256 equal its message, and the rows in the file equal the
// users marked sent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "exporter/export_groups.hpp"
#include "exporter/export_service.hpp"
#include "exporter/lease_keeper.hpp"
#include "storage/local/local_store.hpp"
#include "support/captured_log.hpp"
#include "support/export_test_env.hpp"
#include "support/fake_clock.hpp"
#include "support/hooked_store.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using testing::HookedStore;
using namespace std::chrono_literals;

/// Waits (real time) until `done` holds, at most `limit`.
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// Records in a CSV file's text: RFC 4180 records, header excluded.
std::int64_t csv_records(const std::string& text) {
  std::int64_t records = 0;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (c == '\n' && !quoted) ++records;
  }
  return records - 1;
}

std::string gunzip(const fs::path& path) {
  std::string out;
  FILE* pipe = ::popen(("gzip -dc '" + path.string() + "'").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

class OneWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::sqlite_export_config(dir_.path());
    config_.export_.lease = 60s;
    config_.retry.max_attempts = 1;
    repo_ = open_repository(config_.database.url, clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{DomainId::parse(config_.export_.domain_id), 400, 2, 7}, {});
    local_ = std::make_unique<LocalStore>(dir_ / "objects");
    store_ = std::make_unique<HookedStore>(*local_);
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
    for (const auto& g : repo_->active_groups(DomainId::parse(config_.export_.domain_id))) {
      if (g.type() == GroupType::kCostBased) group_ = g;
    }
  }
  void TearDown() override {
    services_.clear();
    staging_.reset();
    repo_.reset();
  }

  /// An export service of instance `owner` (its own ExportService, like another process).
  ExportService& service(const std::string& owner = "instance-a", bool once_per_slot = true) {
    ExportDeps deps{config_, *repo_, *store_, *staging_,     metrics_,
                    clock_,  clock_, random_, OwnerId(owner)};
    deps.lease_poll = 5ms;
    deps.once_per_slot = once_per_slot;
    services_.push_back(std::make_unique<ExportService>(deps));
    return *services_.back();
  }

  std::int64_t query(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open((dir_ / "db.sqlite").c_str(), &db);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    std::int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
  }
  std::int64_t marked() {
    return query("SELECT count(*) FROM users WHERE sent_to_matching_service AND group_id = '" +
                 group_.id.str() + "'");
  }

  /// Checks every file message of the group: the object exists, its size and SHA-256 equal the
  /// message's, its rows equal the message's rowCount; returns the rows of all messages.
  std::int64_t verify_committed_objects() {
    std::int64_t rows = 0;
    for (const auto& m : repo_->pending_messages(100)) {
      auto payload = nlohmann::json::parse(m.payload);
      if (payload.value("groupId", "") != group_.id.str()) continue;
      const fs::path object = local_->path_for(payload["objectKey"].get<std::string>());
      EXPECT_TRUE(fs::exists(object)) << object;
      const int fd = ::open(object.c_str(), O_RDONLY);
      const FdDigest held = sha256_of_fd(fd, "object");
      ::close(fd);
      EXPECT_EQ(held.bytes, payload["bytes"].get<std::int64_t>()) << object;
      EXPECT_EQ(held.sha256, payload["sha256"].get<std::string>()) << object;
      EXPECT_EQ(csv_records(gunzip(object)), payload["rowCount"].get<std::int64_t>()) << object;
      rows += payload["rowCount"].get<std::int64_t>();
    }
    return rows;
  }
  /// Object files (not metadata) under the store root.
  std::vector<fs::path> objects() {
    std::vector<fs::path> found;
    if (!fs::exists(local_->root())) return found;
    for (const auto& e : fs::recursive_directory_iterator(local_->root())) {
      if (e.is_regular_file() && e.path().string().ends_with(".csv.gz")) found.push_back(e.path());
    }
    return found;
  }
  Slot slot() const { return Slot{std::chrono::seconds{1'767'225'600}}; }
  /// A claim of the group by "instance-a" with a 60 s lease and run id `new_run_id`.
  ClaimRequest claim_request(const std::string& new_run_id) const {
    ClaimRequest claim;
    claim.group_id = group_.id;
    claim.domain_id = group_.domain_id;
    claim.slot = slot();
    claim.owner = OwnerId("instance-a");
    claim.lease = 60s;
    claim.new_run_id = RunId(new_run_id);
    return claim;
  }

  testing::TempDir dir_{"one-writer-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<HookedStore> store_;
  std::unique_ptr<StagingDir> staging_;
  std::vector<std::unique_ptr<ExportService>> services_;
  MatchingGroup group_;
};

TEST_F(OneWriterTest, TheSameGroupTwiceInOneProcessIsExportedOnce) {
  // The first upload waits for a second one (which only a second worker on the run would
  // start) or half a second: two attempts of one run at once overlap inside the upload.
  std::mutex mu;
  std::condition_variable cv;
  int puts = 0;
  store_->before_put = [&](const PutRequest&) {
    std::unique_lock lock(mu);
    ++puts;
    cv.notify_all();
    cv.wait_for(lock, 500ms, [&] { return puts > 1; });
  };
  ExportService& exporter = service();
  WorkerPool pool(4, 16);
  const auto results = export_groups(exporter, pool, {group_, group_}, slot(), {});
  ASSERT_EQ(results.size(), 2u);
  int exported = 0;
  int skipped = 0;
  for (const auto& r : results) {
    EXPECT_FALSE(r.failed()) << r.error;
    exported += r.outcome == GroupOutcome::kExported ? 1 : 0;
    skipped += r.outcome == GroupOutcome::kSkipped ? 1 : 0;
  }
  EXPECT_EQ(exported, 1);
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(puts, 1);
  EXPECT_EQ(verify_committed_objects(), 200);
  EXPECT_EQ(marked(), 200);
}

TEST_F(OneWriterTest, AGroupStoredInUpperCaseIsExported) {
  std::string upper = group_.id.str();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  query("UPDATE matching_groups SET id = '" + upper + "' WHERE id = '" + group_.id.str() + "'");
  query("UPDATE users SET group_id = '" + upper + "' WHERE group_id = '" + group_.id.str() +
        "' AND id % 2 = 0");  // half of them written in upper case too
  const auto groups = repo_->active_groups(DomainId::parse(config_.export_.domain_id));
  ASSERT_EQ(groups.size(), 2u);
  GroupResult r = service().export_group(group_, slot());
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.rows, 200);
  EXPECT_EQ(verify_committed_objects(), 200);
  EXPECT_EQ(query("SELECT count(*) FROM users WHERE sent_to_matching_service AND group_id IN ('" +
                  upper + "', '" + group_.id.str() + "')"),
            200);
}

TEST_F(OneWriterTest, AnUploadSlowerThanTheLeaseStillCommits) {
  // The upload takes twice the lease (on the fake clock); the keeper renews meanwhile.
  store_->before_put = [&](const PutRequest&) {
    for (int i = 0; i < 12; ++i) {
      clock_.advance(10s);
      std::this_thread::sleep_for(20ms);  // lets the keeper's thread see the time
    }
  };
  GroupResult r = service().export_group(group_, slot());
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.state, RunState::kCommitted);
  EXPECT_EQ(verify_committed_objects(), 200);
  EXPECT_EQ(marked(), 200);
}

TEST_F(OneWriterTest, AStalledWriterCannotReplaceTheCommittedObject) {
  // Instance A stalls in its upload until released; its lease runs out; instance B takes the
  // run over and commits; then A's PUT lands.
  std::promise<void> a_in_put;
  std::promise<void> release_a;
  std::shared_future<void> released = release_a.get_future().share();
  std::atomic<int> calls{0};
  store_->before_put = [&](const PutRequest&) {
    if (calls++ == 0) {
      a_in_put.set_value();
      released.wait();  // a stalled network or a paused process: ignores every flag
    }
  };
  ExportService& a = service("instance-a");
  ExportService& b = service("instance-b");
  auto a_result = std::async(std::launch::async, [&] { return a.export_group(group_, slot()); });
  a_in_put.get_future().wait();
  clock_.advance(config_.export_.lease + 1s);

  GroupResult rb = b.export_group(group_, slot());
  ASSERT_EQ(rb.outcome, GroupOutcome::kExported) << rb.error;
  EXPECT_EQ(rb.attempts, 1);  // B's first attempt, the run's second
  const std::int64_t committed_rows = verify_committed_objects();
  EXPECT_EQ(committed_rows, 200);

  release_a.set_value();
  GroupResult ra = a_result.get();
  EXPECT_TRUE(ra.failed());
  EXPECT_EQ(ra.error_code, ErrorCode::kLeaseLost) << ra.error;

  // The committed object is intact, A's object is gone, nothing else was committed.
  EXPECT_EQ(verify_committed_objects(), 200);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(marked(), 200);
  const auto left = objects();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(left[0].string().find(".attempt-2.csv.gz"), std::string::npos) << left[0];
}

TEST_F(OneWriterTest, AnAttemptThatLosesItsLeaseStopsItsUploadWithinASecond) {
  // The store waits for its cancel flag, as the S3 store's transfers do.
  std::atomic<bool> in_put{false};
  std::atomic<bool> stopped_by_flag{false};
  store_->before_put = [&](const PutRequest& request) {
    in_put = true;
    if (eventually([&] { return request.cancel != nullptr && request.cancel->load(); })) {
      stopped_by_flag = true;
      throw Error(ErrorCode::kStorage, "upload stopped", false);
    }
  };
  ExportService& a = service("instance-a");
  auto result = std::async(std::launch::async, [&] { return a.export_group(group_, slot()); });
  ASSERT_TRUE(eventually([&] { return in_put.load(); }));
  // Another instance takes the run over (here: as a claim after expiry would).
  clock_.advance(config_.export_.lease + 1s);
  const auto lost_at = std::chrono::steady_clock::now();
  GroupResult r = result.get();
  EXPECT_LT(std::chrono::steady_clock::now() - lost_at, 1s);
  EXPECT_TRUE(stopped_by_flag);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.error_code, ErrorCode::kLeaseLost) << r.error;
  EXPECT_EQ(marked(), 0);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_TRUE(objects().empty());
}

TEST_F(OneWriterTest, AOneShotExportInTheSameSecondExportsWhatIsUnsentNow) {
  GroupResult first = service("cli", false).export_group(group_, slot());
  ASSERT_EQ(first.outcome, GroupOutcome::kExported) << first.error;
  EXPECT_EQ(first.rows, 200);
  query(
      "UPDATE users SET sent_to_matching_service = 0 WHERE id IN (SELECT id FROM users WHERE "
      "group_id = '" +
      group_.id.str() + "' ORDER BY id LIMIT 3)");
  GroupResult second = service("cli", false).export_group(group_, slot());
  ASSERT_EQ(second.outcome, GroupOutcome::kExported) << second.error;
  EXPECT_NE(second.run_id, first.run_id);
  EXPECT_EQ(second.rows, 3);
  EXPECT_EQ(marked(), 200);
  EXPECT_EQ(verify_committed_objects(), 203);
  EXPECT_EQ(repo_->find_run(second.run_id)->slot, slot() - 1s);

  // The service's scheduled slot stays one export per group.
  query(
      "UPDATE users SET sent_to_matching_service = 0 WHERE id IN (SELECT id FROM users WHERE "
      "group_id = '" +
      group_.id.str() + "' ORDER BY id LIMIT 1)");
  GroupResult scheduled = service("daemon", true).export_group(group_, slot());
  EXPECT_EQ(scheduled.outcome, GroupOutcome::kAlreadyDone);
}

TEST_F(OneWriterTest, LeaseKeeperRenewsAndNoticesATakeover) {
  ClaimRequest claim = claim_request("6f1c1f55-2c55-4b55-8a55-000000000009");
  const ExportRun run = repo_->claim(claim);
  LeaseKeeper keeper(*repo_, clock_, {run.run_id, run.attempts}, OwnerId("instance-a"), 60s,
                     nullptr, 5ms);
  clock_.advance(25s);  // past a third of the lease: renewed to now + 60 s
  EXPECT_TRUE(eventually(
      [&] { return repo_->find_run(run.run_id)->lease_expires_at == clock_.now() + 60s; }));
  EXPECT_NO_THROW(keeper.tick());

  // The same owner claims the run again (as a second worker would): the keeper's token is old.
  repo_->record_failure(run.run_id, OwnerId("instance-a"), run.attempts, "simulated");
  claim.new_run_id = RunId("6f1c1f55-2c55-4b55-8a55-000000000010");
  const ExportRun again = repo_->claim(claim);
  ASSERT_EQ(again.attempts, run.attempts + 1);
  clock_.advance(25s);
  EXPECT_TRUE(eventually([&] { return keeper.lost(); }));
  EXPECT_TRUE(keeper.stop_flag()->load());
  EXPECT_THROW(keeper.tick(), Error);
  try {
    keeper.check(0);
    ADD_FAILURE() << "check() did not report the lost lease";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLeaseLost);
  }
}

// A renewal that waited for the database while the attempt's own commit ran (SQLite's one
// writer, a long commit of millions of users) finds the run committed. That is recorded, but
// not reported as "this attempt stops and never commits": the commit says how it ended.
TEST_F(OneWriterTest, ARenewalQueuedBehindItsOwnCommitIsNotReportedAsALostLease) {
  for (const bool committing : {false, true}) {
    SCOPED_TRACE(committing ? "commit in flight" : "no commit in flight");
    ClaimRequest claim = claim_request(committing ? "6f1c1f55-2c55-4b55-8a55-000000000013"
                                                  : "6f1c1f55-2c55-4b55-8a55-000000000012");
    claim.slot = slot() + std::chrono::seconds(committing ? 2 : 1);
    const ExportRun run = repo_->claim(claim);
    testing::CapturedLog log;
    LeaseKeeper keeper(*repo_, clock_, {run.run_id, run.attempts}, OwnerId("instance-a"), 60s,
                       nullptr, 5ms);
    if (committing) keeper.committing();
    CommitRequest commit;
    commit.run_id = run.run_id;
    commit.owner = OwnerId("instance-a");
    commit.attempt = run.attempts;
    commit.mark_sent = true;
    repo_->commit(commit);
    keeper.renew_now();  // as the keeper's thread does once the commit lets go of the database
    EXPECT_TRUE(keeper.lost());
    EXPECT_EQ(log.contains("lost the lease of a run"), !committing);
  }
}

TEST_F(OneWriterTest, LeaseKeeperOfAPausedProcessFindsItsLeasePast) {
  ClaimRequest claim = claim_request("6f1c1f55-2c55-4b55-8a55-000000000011");
  const ExportRun run = repo_->claim(claim);
  LeaseKeeper keeper(*repo_, clock_, {run.run_id, run.attempts}, OwnerId("instance-a"), 60s,
                     nullptr, 5ms);
  clock_.advance(61s);  // nothing ran for longer than the lease
  EXPECT_TRUE(eventually([&] { return keeper.lost(); }));
  EXPECT_TRUE(keeper.stop_flag()->load());
}

TEST_F(OneWriterTest, LeaseKeeperStopFlagFollowsShutdown) {
  std::atomic<bool> cancel{false};
  LeaseKeeper keeper(*repo_, clock_, {RunId("6f1c1f55-2c55-4b55-8a55-000000000012"), 1},
                     OwnerId("instance-a"), 60s, &cancel, 5ms);
  EXPECT_FALSE(keeper.stop_flag()->load());
  cancel = true;
  EXPECT_TRUE(eventually([&] { return keeper.stop_flag()->load(); }));
  EXPECT_FALSE(keeper.lost());
}

}  // namespace
}  // namespace user_export
