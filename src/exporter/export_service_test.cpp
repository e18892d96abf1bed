#include "exporter/export_service.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "exporter/lease_keeper.hpp"
#include "storage/local/local_store.hpp"
#include "support/export_test_env.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

/// A store that fails retriably a given number of times, then delegates.
class FlakyStore final : public ObjectStore {
  std::mutex mu_;

 public:
  explicit FlakyStore(ObjectStore& inner) : inner_(inner) {}
  void ensure_ready() override { inner_.ensure_ready(); }
  StoredObject put(const PutRequest& request) override {
    if (failures_left > 0) {
      --failures_left;
      if (before_failure) before_failure();
      throw Error(ErrorCode::kStorage, "simulated 503 from the object store", true);
    }
    return inner_.put(request);
  }
  void remove(const std::string& key) override { inner_.remove(key); }
  bool exists(const std::string& key) override { return inner_.exists(key); }
  void read(const std::string& key, const ObjectChunkFn& chunk) override {
    inner_.read(key, chunk);
  }
  int abort_unfinished(const std::string& key) override {
    {
      std::lock_guard lock(mu_);
      aborted_keys.push_back(key);
    }
    return inner_.abort_unfinished(key);
  }
  std::string key_prefix() const override { return inner_.key_prefix(); }
  std::optional<std::string> download_url(const std::string& key) const override {
    if (link_base.empty()) return inner_.download_url(key);
    return link_base + key + "?X-Amz-Signature=abc";
  }
  std::atomic<int> failures_left{0};
  std::string link_base;  ///< when set, download_url() gives link_base + key + a signature
  std::function<void()> before_failure;   ///< called as a simulated failure happens
  std::vector<std::string> aborted_keys;  ///< abort_unfinished() calls, in order

 private:
  ObjectStore& inner_;
};

class ExportServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::sqlite_export_config(dir_.path());
    config_.retry.max_attempts = 3;
    repo_ = open_repository(config_.database.url, clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{DomainId::parse(config_.export_.domain_id), 100, 2, 7}, {});
    local_ = std::make_unique<LocalStore>(dir_ / "objects");
    store_ = std::make_unique<FlakyStore>(*local_);
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
    groups_ = repo_->active_groups(DomainId::parse(config_.export_.domain_id));
    ASSERT_EQ(groups_.size(), 2u);
    set_fault("");
  }
  void TearDown() override {
    set_fault("");
    service_.reset();
    staging_.reset();
    repo_.reset();
  }

  ExportService& service() {
    if (!service_) {
      service_ =
          std::make_unique<ExportService>(ExportDeps{config_, *repo_, *store_, *staging_, metrics_,
                                                     clock_, clock_, random_, OwnerId("test:1")});
    }
    return *service_;
  }
  const MatchingGroup& group_of(GroupType type) {
    for (const auto& g : groups_) {
      if (g.type() == type) return g;
    }
    throw std::logic_error("no such group");
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
  std::int64_t unsent(const MatchingGroup& g) {
    return query("SELECT COUNT(*) FROM users WHERE NOT sent_to_matching_service AND group_id = '" +
                 g.id.str() + "'");
  }
  Slot slot(int minutes) {
    return Slot{std::chrono::seconds{1'767'225'600}} + std::chrono::minutes{minutes};
  }

  testing::TempDir dir_{"export-service-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<FlakyStore> store_;
  std::unique_ptr<StagingDir> staging_;
  std::unique_ptr<ExportService> service_;
  std::vector<MatchingGroup> groups_;
};

TEST_F(ExportServiceTest, CostBasedGroupIsStagedUploadedCommittedAndCounted) {
  const auto& g = group_of(GroupType::kCostBased);
  GroupResult r = service().export_group(g, slot(0));
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.rows, 50);
  EXPECT_EQ(r.messages, 1u);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_TRUE(fs::exists(local_->path_for(r.file->object_key)));
  EXPECT_EQ(static_cast<std::int64_t>(fs::file_size(local_->path_for(r.file->object_key))),
            r.file->bytes);
  EXPECT_EQ(unsent(g), 0);
  EXPECT_EQ(repo_->pending_count(), 1);
  auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 1u);
  auto payload = nlohmann::json::parse(pending[0].payload);
  EXPECT_EQ(payload["rowCount"], 50);
  EXPECT_EQ(payload["sha256"], r.file->sha256);
  EXPECT_FALSE(payload.contains("downloadUrl"));  // the local store presigns nothing
  EXPECT_TRUE(fs::is_empty(staging_->path()) ||
              !fs::exists(staging_->file_for(r.run_id.str())));  // staged file removed
  const Labels gl{{"group_id", g.id.str()}};
  EXPECT_EQ(metrics_.value("users_export_batch_processed_total", gl), 50);
  EXPECT_EQ(metrics_.value("users_export_csv_processed_total", gl), 50);
  EXPECT_EQ(metrics_.value("users_export_rows_marked_total", gl), 50);
  EXPECT_EQ(metrics_.value("users_export_bytes_uploaded_total", gl), r.file->bytes);
  EXPECT_EQ(metrics_.value("users_export_failures_total",
                           {{"group_id", g.id.str()}, {"group_type", "COST_BASED"}}),
            -1);
  // The same slot again is a no-op.
  GroupResult again = service().export_group(g, slot(0));
  EXPECT_EQ(again.outcome, GroupOutcome::kAlreadyDone);
  EXPECT_EQ(repo_->pending_count(), 1);
}

TEST_F(ExportServiceTest, TheFileMessageCarriesTheStoresDownloadUrlOfTheCommittedObject) {
  store_->link_base = "https://signed.example/";
  store_->failures_left = 1;  // the committed object is the second attempt's
  const auto& g = group_of(GroupType::kCostBased);
  GroupResult r = service().export_group(g, slot(0));
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.attempts, 2);
  auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 1u);
  auto payload = nlohmann::json::parse(pending[0].payload);
  EXPECT_EQ(payload["objectKey"], r.file->object_key);
  EXPECT_EQ(payload["downloadUrl"],
            "https://signed.example/" + r.file->object_key + "?X-Amz-Signature=abc");
  EXPECT_EQ(r.file->download_url, payload["downloadUrl"]);

  // Id-list messages get none.
  GroupResult ids = service().export_group(group_of(GroupType::kNonCostBased), slot(0));
  ASSERT_EQ(ids.outcome, GroupOutcome::kExported) << ids.error;
  int id_lists = 0;
  for (const auto& message : repo_->pending_messages(100)) {
    auto json = nlohmann::json::parse(message.payload);
    if (json["payload"] != "USERS_EXPORT_REF_IDS") continue;
    ++id_lists;
    EXPECT_FALSE(json.contains("downloadUrl"));
  }
  EXPECT_GT(id_lists, 0);
}

TEST_F(ExportServiceTest, RetriableFailureIsRetriedWithBackoffOnTheFakeClock) {
  const auto& g = group_of(GroupType::kCostBased);
  store_->failures_left = 2;
  GroupResult r = service().export_group(g, slot(0));
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.attempts, 3);
  auto sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_NEAR(std::chrono::duration<double>(sleeps[0]).count(), 0.1, 0.1 * 0.2 + 1e-9);
  EXPECT_NEAR(std::chrono::duration<double>(sleeps[1]).count(), 0.3, 0.3 * 0.2 + 1e-9);
  EXPECT_EQ(metrics_.value("users_export_batch_failures_total", {{"group_id", g.id.str()}}), 2);
  EXPECT_EQ(metrics_.value("users_export_retries_total", {{"group_id", g.id.str()}}), 2);
  EXPECT_EQ(unsent(g), 0);
  EXPECT_EQ(query("SELECT attempts FROM export_runs WHERE run_id = '" + r.run_id.str() + "'"), 3);
}

TEST_F(ExportServiceTest, ExhaustedRetriesMarkNothingAndTheNextRunResumesTheSameClaim) {
  const auto& g = group_of(GroupType::kCostBased);
  store_->failures_left = 3;
  GroupResult failed = service().export_group(g, slot(0));
  EXPECT_TRUE(failed.failed());
  EXPECT_EQ(failed.error_code, ErrorCode::kStorage);
  EXPECT_EQ(unsent(g), 50);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_EQ(metrics_.value("users_export_failures_total",
                           {{"group_id", g.id.str()}, {"group_type", "COST_BASED"}}),
            1);
  GroupResult next = service().export_group(g, slot(1));
  ASSERT_EQ(next.outcome, GroupOutcome::kExported) << next.error;
  EXPECT_TRUE(next.resumed);
  EXPECT_EQ(next.run_id, failed.run_id);
  EXPECT_EQ(next.rows, 50);
  EXPECT_EQ(unsent(g), 0);
}

// Every attempt that can no longer complete has its unfinished uploads aborted by exact key:
// each failed attempt its own, a resumed run its earlier attempts' before it uploads again.
TEST_F(ExportServiceTest, UnfinishedUploadsOfDeadAttemptsAreAbortedByTheirExactKeys) {
  const auto& g = group_of(GroupType::kCostBased);
  store_->failures_left = 3;
  GroupResult failed = service().export_group(g, slot(0));
  ASSERT_TRUE(failed.failed());
  auto key = [&](int attempt) {
    return object_key_for("", g.domain_id, g.id, slot(0), failed.run_id, attempt);
  };
  // Attempt 1 failed: its key. Attempts 2 and 3 resumed the run (the earlier keys), then failed
  // (their own).
  EXPECT_EQ(store_->aborted_keys,
            (std::vector<std::string>{key(1), key(1), key(2), key(1), key(2), key(3)}));

  // A writer of attempt 2 that died mid-write left a temporary file beside its key.
  const fs::path leftover = local_->path_for(key(2)).parent_path() /
                            ("." + local_->path_for(key(2)).filename().string() + ".tmp-Ab12Cd");
  fs::create_directories(leftover.parent_path());
  std::ofstream(leftover) << "partial";
  store_->aborted_keys.clear();
  GroupResult next = service().export_group(g, slot(1));
  ASSERT_EQ(next.outcome, GroupOutcome::kExported) << next.error;
  EXPECT_EQ(next.run_id, failed.run_id);
  EXPECT_FALSE(fs::exists(leftover));
  // On resume (before its upload) and after its commit: attempts 1 to 3, never attempt 4's
  // key, whose file is a single write.
  EXPECT_EQ(store_->aborted_keys,
            (std::vector<std::string>{key(1), key(2), key(3), key(1), key(2), key(3)}));
  EXPECT_EQ(metrics_.value("users_export_unfinished_uploads_aborted_total", {{"when", "run"}}), 1);
}

TEST_F(ExportServiceTest, ClaimedUsersDeletedBeforeAResumeAreLeftOutNotAFailure) {
  // A user deleted (say, an account closed) between a failed attempt and the resume: the resumed
  // stream cannot find it, the file and message hold the others, and the group is not wedged.
  config_.retry.max_attempts = 1;
  for (GroupType type : {GroupType::kCostBased, GroupType::kNonCostBased}) {
    const auto& g = group_of(type);
    set_fault("before_commit:fail");
    GroupResult failed = service().export_group(g, slot(0));
    ASSERT_TRUE(failed.failed());
    set_fault("");
    const std::string gone = "(SELECT min(id) FROM users WHERE group_id = '" + g.id.str() + "')";
    query("DELETE FROM profiles WHERE user_id = " + gone);
    query("DELETE FROM users WHERE id = " + gone);

    GroupResult next = service().export_group(g, slot(1));
    ASSERT_EQ(next.outcome, GroupOutcome::kExported) << next.error;
    EXPECT_TRUE(next.resumed);
    EXPECT_EQ(next.rows, 49);
    EXPECT_EQ(unsent(g), 0);
    EXPECT_EQ(query("SELECT COUNT(*) FROM users WHERE group_id = '" + g.id.str() + "'"), 49);
  }
  auto pending = repo_->pending_messages(10);
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(nlohmann::json::parse(pending[0].payload)["rowCount"], 49);
}

TEST_F(ExportServiceTest, InjectedFaultBetweenStepsIsRetried) {
  const auto& g = group_of(GroupType::kNonCostBased);
  set_fault("before_commit:fail");
  GroupResult r = service().export_group(g, slot(0));
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(unsent(g), 0);
}

TEST_F(ExportServiceTest, IdListIsSplitUnderTheLimitAndCoversTheGroupExactly) {
  config_.messages.max_message_bytes = 1024;
  const auto& g = group_of(GroupType::kNonCostBased);
  GroupResult r = service().export_group(g, slot(0));
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_FALSE(r.file.has_value());
  ASSERT_GT(r.messages, 1u);
  std::set<std::string> ids;
  for (const auto& m : repo_->pending_messages(100)) {
    EXPECT_LE(m.payload.size(), 1024u);
    auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j["parts"], r.messages);
    for (const auto& id : j["refIds"]) EXPECT_TRUE(ids.insert(id.get<std::string>()).second);
  }
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), r.rows);
  EXPECT_EQ(r.rows, 50);
}

TEST_F(ExportServiceTest, UnknownGroupTypeFailsThatGroupWithItsMetric) {
  MatchingGroup g = group_of(GroupType::kCostBased);
  g.type_name = "PREMIUM";
  GroupResult r = service().export_group(g, slot(0));
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.error.find("PREMIUM"), std::string::npos);
  EXPECT_EQ(metrics_.value("users_export_invalid_group_type_total",
                           {{"group_id", g.id.str()}, {"group_type", "PREMIUM"}}),
            1);
  EXPECT_EQ(unsent(g), 50);
}

TEST_F(ExportServiceTest, EmptyGroupSendsNothing) {
  const auto& g = group_of(GroupType::kNonCostBased);
  ASSERT_EQ(service().export_group(g, slot(0)).outcome, GroupOutcome::kExported);
  GroupResult r = service().export_group(g, slot(1));
  ASSERT_EQ(r.outcome, GroupOutcome::kEmpty) << r.error;
  EXPECT_EQ(r.state, RunState::kEmpty);
  EXPECT_EQ(r.messages, 0u);
  EXPECT_EQ(repo_->pending_count(), 1);  // only the first run's message
}

TEST_F(ExportServiceTest, LiveLeaseOfAnotherInstanceIsSkippedNotFailed) {
  const auto& g = group_of(GroupType::kCostBased);
  ClaimRequest other;
  other.group_id = g.id;
  other.domain_id = g.domain_id;
  other.slot = slot(0);
  other.owner = OwnerId("other-host:4242");
  other.lease = std::chrono::seconds(300);
  other.new_run_id = RunId("6f1c1f55-2c55-4b55-8a55-000000000001");
  repo_->claim(other);

  GroupResult r = service().export_group(g, slot(0));
  EXPECT_EQ(r.outcome, GroupOutcome::kSkipped) << r.error;
  EXPECT_EQ(r.error_code, ErrorCode::kLeaseLost);
  EXPECT_EQ(unsent(g), 50);
  EXPECT_EQ(metrics_.value("users_export_groups_skipped_total", {{"group_id", g.id.str()}}), 1);
  EXPECT_EQ(metrics_.value("users_export_failures_total",
                           {{"group_id", g.id.str()}, {"group_type", "COST_BASED"}}),
            -1);

  clock_.advance(std::chrono::seconds(301));  // the other lease expired: taken over
  GroupResult later = service().export_group(g, slot(0));
  ASSERT_EQ(later.outcome, GroupOutcome::kExported) << later.error;
  EXPECT_TRUE(later.resumed);
  EXPECT_EQ(later.rows, 50);
  EXPECT_EQ(unsent(g), 0);
}

TEST_F(ExportServiceTest, CancelledServiceStartsNoGroup) {
  std::atomic<bool> cancel{true};
  ExportService cancelled(ExportDeps{config_, *repo_, *store_, *staging_, metrics_, clock_, clock_,
                                     random_, OwnerId("test:1"), &cancel});
  const auto& g = group_of(GroupType::kNonCostBased);
  GroupResult r = cancelled.export_group(g, slot(0));
  EXPECT_EQ(r.outcome, GroupOutcome::kSkipped);
  EXPECT_TRUE(r.run_id.empty());
  EXPECT_TRUE(repo_->recent_runs(10).empty());
  EXPECT_EQ(unsent(g), 50);
}

// After the first SIGTERM (stop_claiming): a group not started is skipped, and a failed attempt
// is not retried (a retry would claim again); the claim stays for the next run.
TEST_F(ExportServiceTest, StopClaimingStartsNoGroupAndRetriesNoAttempt) {
  std::atomic<bool> stop{true};
  ExportDeps deps{config_, *repo_, *store_, *staging_,        metrics_,
                  clock_,  clock_, random_, OwnerId("test:1")};
  deps.stop_claiming = &stop;
  const auto& g = group_of(GroupType::kCostBased);
  GroupResult skipped = ExportService(deps).export_group(g, slot(0));
  EXPECT_EQ(skipped.outcome, GroupOutcome::kSkipped);
  EXPECT_TRUE(repo_->recent_runs(10).empty());

  stop = false;
  store_->failures_left = 1;  // the first attempt fails; the stop arrives meanwhile
  store_->before_failure = [&] { stop = true; };
  GroupResult failed = ExportService(deps).export_group(g, slot(1));
  EXPECT_TRUE(failed.failed());
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_NE(failed.error.find("not retried: shutting down"), std::string::npos) << failed.error;
  const auto runs = repo_->recent_runs(10);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state, RunState::kClaimed);
  EXPECT_EQ(runs[0].attempts, 1);
  EXPECT_EQ(unsent(g), 50);
}

TEST_F(ExportServiceTest, LeaseKeeperStopsTheStreamOnceCancelledAndKeepsTheClaim) {
  std::atomic<bool> cancel{false};
  const auto& g = group_of(GroupType::kCostBased);
  ClaimRequest claim;
  claim.group_id = g.id;
  claim.domain_id = g.domain_id;
  claim.slot = slot(0);
  claim.owner = OwnerId("test:1");
  claim.new_run_id = RunId("6f1c1f55-2c55-4b55-8a55-000000000002");
  ExportRun run = repo_->claim(claim);
  LeaseKeeper keeper(*repo_, clock_, {run.run_id, run.attempts}, OwnerId("test:1"),
                     std::chrono::seconds(300), &cancel);
  EXPECT_NO_THROW(keeper.tick());
  cancel = true;
  try {
    keeper.tick();
    FAIL() << "tick() did not stop a cancelled run";
  } catch (const Error& e) {
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("cancelled by shutdown"), std::string::npos);
  }
  auto stored = repo_->find_run(run.run_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, RunState::kClaimed);
  EXPECT_EQ(stored->item_count, 50);
}

}  // namespace
}  // namespace user_export
