// export_groups() end to end on PostgreSQL, with a real database and a local object store:
// batches of small groups, including a group whose upload fails inside the batch and a group too
// big for a batch; and a group's users marked while it streams (docs/ARCHITECTURE.md, "Marking
// while streaming"), unseen until its commit and released when its upload fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "exporter/export_groups.hpp"
#include "storage/local/local_store.hpp"
#include "support/fake_clock.hpp"
#include "support/hooked_store.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using testing::add_group;
using testing::add_users;
using testing::test_uuid;

/// A store whose first upload of one of `group`'s files fails retriably.
class FailOnceForGroup final : public testing::DelegatingStore {
 public:
  FailOnceForGroup(ObjectStore& inner, std::string group)
      : DelegatingStore(inner), group_(std::move(group)) {}
  StoredObject put(const PutRequest& request) override {
    if (request.key.find(group_) != std::string::npos && !failed_.exchange(true)) {
      throw Error(ErrorCode::kStorage, "simulated 503 for group " + group_, true);
    }
    return DelegatingStore::put(request);
  }

 private:
  std::string group_;
  std::atomic<bool> failed_{false};
};

/// The lines of a gzip file, header included.
std::vector<std::string> gunzip_lines(const fs::path& file) {
  std::vector<std::string> lines;
  FILE* p = ::popen(("gzip -dc '" + file.string() + "'").c_str(), "r");
  if (p == nullptr) return lines;
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  ::pclose(p);
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

class BatchExportTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    domain_ = test_uuid(1, 7);
    config_.export_.domain_id = domain_;
    config_.export_.staging_dir = (dir_ / "staging").string();
    config_.export_.batch_max_group_users = 40;
    config_.csv.columns = {CsvColumn{"id", "id", MaskMode::kNone},
                           CsvColumn{"group_id", "group_id", MaskMode::kNone},
                           CsvColumn{"display_name", "display_name", MaskMode::kNone}};
    config_.retry.max_attempts = 2;
    config_.retry.initial_backoff = std::chrono::milliseconds{1};
    local_ = std::make_unique<LocalStore>(dir_ / "objects");
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
  }
  void TearDown() override {
    staging_.reset();
    PostgresTest::TearDown();
  }

  std::vector<GroupResult> export_all(ObjectStore& store, int workers) {
    ExportService service(ExportDeps{config_, *repo_, store, *staging_, metrics_, clock_, clock_,
                                     random_, OwnerId("test:1")});
    WorkerPool pool(static_cast<std::size_t>(workers), 64);
    std::mutex mu;
    auto groups = repo_->active_groups(DomainId::parse(domain_));
    return export_groups(service, pool, groups, slot_, [&](const GroupResult& r) {
      std::lock_guard lock(mu);
      ++finished_[r.group.id.str()];
    });
  }
  /// The CSV lines a group's file must hold: header, then (id, group, display name) by id.
  std::vector<std::string> expected_lines(const std::string& group) {
    std::vector<std::string> lines{"id,group_id,display_name"};
    pg::Result r = sql_->exec(
        "SELECT u.id::text || ',' || u.group_id::text || ',' || p.display_name FROM users u "
        "JOIN profiles p ON p.user_id = u.id WHERE u.group_id = $1 ORDER BY u.id",
        {group});
    for (int i = 0; i < r.rows(); ++i) lines.push_back(r.text(i, 0));
    return lines;
  }
  /// How many of `group`'s users another session finds locked, once that number is `expected`
  /// or after five seconds (real time).
  std::int64_t locked_users(const std::string& group, std::int64_t expected) {
    std::int64_t locked = -1;
    for (int i = 0; i < 500 && locked != expected; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto other = db_->connect();
      other->exec("BEGIN");
      locked = other
                   ->exec(
                       "SELECT count(*) - (SELECT count(*) FROM (SELECT 1 FROM users WHERE "
                       "group_id = $1 FOR UPDATE SKIP LOCKED) AS f) FROM users WHERE "
                       "group_id = $1",
                       {group})
                   .int64(0, 0);
      other->exec("ROLLBACK");
    }
    return locked;
  }
  /// users_export_marked_while_streaming_total{outcome}; 0 for a series never counted.
  double marked_while_streaming(const char* outcome) {
    const double v =
        metrics_.value("users_export_marked_while_streaming_total", {{"outcome", outcome}});
    return v < 0 ? 0 : v;
  }
  double batched(const char* outcome) {
    return metrics_.value("users_export_batched_groups_total", {{"outcome", outcome}});
  }

  testing::TempDir dir_{"batch-export-test"};
  std::string domain_;
  Config config_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<StagingDir> staging_;
  std::map<std::string, int> finished_;
  const Slot slot_{std::chrono::seconds{1'767'225'600}};
};

TEST_F(BatchExportTest, SmallGroupsAreExportedInBatchesEachIntoItsOwnFileAndMessage) {
  std::map<std::string, int> users;  // cost-based group -> users
  for (int g = 0; g < 11; ++g) {
    const std::string group = add_group(*sql_, domain_, 100 + g);
    users[group] = 5 + 3 * g;  // 5 .. 35 users, all batchable
    add_users(*sql_, group, users[group]);
  }
  const std::string big = add_group(*sql_, domain_, 200);
  users[big] = 41;  // one more than a batch takes
  add_users(*sql_, big, users[big]);
  const std::string ids = add_group(*sql_, domain_, 300, "NON_COST_BASED");
  add_users(*sql_, ids, 7);
  const std::string failing = std::next(users.begin(), 4)->first;
  FailOnceForGroup store(*local_, failing);

  std::vector<GroupResult> results = export_all(store, 2);

  ASSERT_EQ(results.size(), 13u);
  for (const GroupResult& r : results) {
    EXPECT_EQ(r.outcome, GroupOutcome::kExported) << r.group.id.str() << ": " << r.error;
    EXPECT_EQ(finished_[r.group.id.str()], 1) << "one progress report per group";
    if (r.group.id.str() == ids) continue;
    ASSERT_TRUE(r.file) << r.group.id.str();
    EXPECT_EQ(r.rows, users[r.group.id.str()]);
    // The object holds the header and exactly the group's users, in id order, each line as
    // the database has it.
    std::vector<std::string> lines = gunzip_lines(local_->path_for(r.file->object_key));
    EXPECT_EQ(lines, expected_lines(r.group.id.str())) << r.group.id.str();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE NOT sent_to_matching_service"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox WHERE run_id IN (SELECT run_id FROM "
                   "export_runs WHERE group_id <> $1)",
                   {ids}),
            "12")
      << "one file message per cost-based group";
  EXPECT_EQ(scalar("SELECT count(DISTINCT group_id) FROM export_runs WHERE state = 'committed'"),
            "13");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs"), "13") << "one run per group";
  // Two batches (2 workers): 11 small groups claimed in them, one of which failed its upload
  // and was then exported on its own; the big and the id-list group never joined a batch.
  EXPECT_EQ(batched("committed"), 10);
  EXPECT_EQ(batched("fell_back"), 1);
  EXPECT_EQ(scalar("SELECT attempts FROM export_runs WHERE group_id = $1", {failing}), "2");
  EXPECT_EQ(scalar("SELECT attempts FROM export_runs WHERE group_id = $1", {big}), "1");
  for (const auto& entry : fs::directory_iterator(config_.export_.staging_dir)) {
    EXPECT_EQ(entry.path().filename(), ".lock") << "a staged file left behind";
  }
}

TEST_F(BatchExportTest, ABatchedGroupsCsvDurationIsItsOwnShareOfTheStream) {
  std::vector<std::string> groups;
  for (int g = 0; g < 3; ++g) {
    groups.push_back(add_group(*sql_, domain_, 500 + g));
    add_users(*sql_, groups.back(), 20);
  }
  // Every reading of the monotonic clock moves it on by 1 ms: a duration is the number of
  // readings it spans. One worker, so no other thread reads the clock meanwhile.
  clock_.set_monotonic_step(std::chrono::milliseconds(1));
  std::vector<GroupResult> results = export_all(*local_, 1);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(batched("committed"), 3);
  for (const std::string& group : groups) {
    const Histogram::Snapshot csv =
        metrics_
            .histogram("users_export_group_duration_seconds", "",
                       {{"group_id", group}, {"group_type", "COST_BASED"}})
            .snapshot();
    EXPECT_EQ(csv.count, 1u) << group;
    // From the group's first row to its file's close (two readings), not the batch's whole
    // claim and stream.
    EXPECT_DOUBLE_EQ(csv.sum, 0.001) << group;
  }
}

TEST_F(BatchExportTest, ABatchThatCannotStreamLeavesItsGroupsToBeExportedOneByOne) {
  for (int g = 0; g < 6; ++g) add_users(*sql_, add_group(*sql_, domain_, 400 + g), 10);
  // A column the database does not have: every stream fails, in the batch and alone; nothing
  // is marked and every run keeps its claim for the next run.
  sql_->exec("ALTER TABLE profiles RENAME COLUMN display_name TO shown_name");
  std::vector<GroupResult> results = export_all(*local_, 2);
  for (const GroupResult& r : results) {
    EXPECT_TRUE(r.failed());
    EXPECT_NE(r.error.find("display_name"), std::string::npos) << r.error;
  }
  EXPECT_EQ(batched("fell_back"), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs WHERE state = 'claimed'"), "6");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_run_items"), "60");

  // Repaired, the next export resumes the same runs and finishes them. A claimed user deleted
  // meanwhile cannot be streamed again: it is left out, and its group is not held up.
  sql_->exec("ALTER TABLE profiles RENAME COLUMN shown_name TO display_name");
  sql_->exec("DELETE FROM profiles WHERE user_id = (SELECT min(id) FROM users)");
  sql_->exec("DELETE FROM users WHERE id = (SELECT min(id) FROM users)");
  results = export_all(*local_, 2);
  std::int64_t rows = 0;
  for (const GroupResult& r : results) {
    EXPECT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
    EXPECT_TRUE(r.resumed);
    rows += r.rows;
  }
  EXPECT_EQ(rows, 59);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE NOT sent_to_matching_service"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs"), "6");
}

// A group too big for a batch: its users are marked while its file is streamed and uploaded,
// in a transaction nobody else sees until the run commits.
TEST_F(BatchExportTest, AGroupsUsersAreMarkedWhileItStreamsAndSeenOnlyOnceCommitted) {
  const std::string group = add_group(*sql_, domain_, 600);
  add_users(*sql_, group, 60);
  testing::HookedStore store(*local_);
  std::int64_t locked_during_upload = -1;
  std::string marked_during_upload;
  store.before_put = [&](const PutRequest&) {
    locked_during_upload = locked_users(group, 60);
    marked_during_upload = scalar("SELECT count(*) FROM users WHERE sent_to_matching_service");
  };
  std::vector<GroupResult> results = export_all(store, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, GroupOutcome::kExported) << results[0].error;
  EXPECT_EQ(locked_during_upload, 60) << "the users are marked before the upload ends";
  EXPECT_EQ(marked_during_upload, "0") << "and nobody sees it before the commit";
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "60");
  EXPECT_EQ(locked_users(group, 0), 0);
  EXPECT_EQ(gunzip_lines(local_->path_for(results[0].file->object_key)), expected_lines(group));
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "1");
  EXPECT_EQ(marked_while_streaming("committed"), 1);
  EXPECT_EQ(marked_while_streaming("fell_back"), 0);
}

TEST_F(BatchExportTest, WithoutMarkingWhileStreamingTheCommitMarksTheUsers) {
  config_.export_.mark_while_streaming = false;
  const std::string group = add_group(*sql_, domain_, 601);
  add_users(*sql_, group, 60);
  testing::HookedStore store(*local_);
  std::int64_t locked_during_upload = -1;
  store.before_put = [&](const PutRequest&) { locked_during_upload = locked_users(group, 0); };
  std::vector<GroupResult> results = export_all(store, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, GroupOutcome::kExported) << results[0].error;
  EXPECT_EQ(locked_during_upload, 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "60");
  EXPECT_EQ(marked_while_streaming("committed"), 0);
}

// The transaction that marked the users ends before the commit (here its session is killed
// during the upload, as the server does to one idle past its limit): the commit marks the users
// itself, and nothing is lost or marked twice.
TEST_F(BatchExportTest, WhenTheMarkingTransactionIsGoneTheCommitMarksTheUsers) {
  const std::string group = add_group(*sql_, domain_, 603);
  add_users(*sql_, group, 60);
  testing::HookedStore store(*local_);
  std::string killed;
  store.before_put = [&](const PutRequest&) {
    locked_users(group, 60);
    killed = scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
        "current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()");
  };
  std::vector<GroupResult> results = export_all(store, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, GroupOutcome::kExported) << results[0].error;
  EXPECT_EQ(results[0].attempts, 1);
  EXPECT_EQ(killed, "1") << "the open marking transaction was the one idle session";
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "60");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "1");
  EXPECT_EQ(marked_while_streaming("fell_back"), 1);
  EXPECT_EQ(marked_while_streaming("committed"), 0);
}

// Two groups exported side by side are marked by their commits: their markings would contend
// for the pages both groups' users share.
TEST_F(BatchExportTest, GroupsExportedSideBySideAreMarkedInTheirCommits) {
  const std::string a = add_group(*sql_, domain_, 610);
  const std::string b = add_group(*sql_, domain_, 611);
  add_users(*sql_, a, 60);
  add_users(*sql_, b, 60);
  testing::HookedStore store(*local_);
  std::atomic<bool> b_uploaded{false};
  std::int64_t b_locked = -1;
  store.before_put = [&](const PutRequest& request) {
    if (request.key.find(b) != std::string::npos) {
      b_locked = locked_users(b, 0);  // a is held meanwhile: it waits below for this
      b_uploaded = true;
      return;
    }
    for (int i = 0; i < 1000 && !b_uploaded; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  std::vector<GroupResult> results = export_all(store, 2);
  ASSERT_EQ(results.size(), 2u);
  for (const GroupResult& r : results) EXPECT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_TRUE(b_uploaded.load());
  EXPECT_EQ(b_locked, 0) << "b's users were marked before its commit";
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "120");
}

// The first upload fails: the attempt's marks are rolled back before it is retried (else the
// retry would wait for them forever), and the retry marks and commits every user once.
TEST_F(BatchExportTest, AFailedUploadReleasesTheMarksAndTheRetryCommitsThem) {
  const std::string group = add_group(*sql_, domain_, 602);
  add_users(*sql_, group, 60);
  FailOnceForGroup failing(*local_, group);
  testing::HookedStore store(failing);
  std::vector<std::int64_t> locked;
  store.before_put = [&](const PutRequest&) { locked.push_back(locked_users(group, 60)); };
  std::vector<GroupResult> results = export_all(store, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, GroupOutcome::kExported) << results[0].error;
  EXPECT_EQ(results[0].attempts, 2);
  EXPECT_EQ(locked, (std::vector<std::int64_t>{60, 60})) << "each attempt marked them";
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "60");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "1");
  EXPECT_EQ(scalar("SELECT attempts FROM export_runs WHERE group_id = $1", {group}), "2");
}

}  // namespace
}  // namespace user_export
