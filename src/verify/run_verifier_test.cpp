#include "verify/run_verifier.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "exporter/export_service.hpp"
#include "format/staging_dir.hpp"
#include "observe/meter_catalogue.hpp"
#include "observe/metrics.hpp"
#include "storage/local/local_store.hpp"
#include "support/export_test_env.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class RunVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::sqlite_export_config(dir_.path());
    config_.messages.max_message_bytes = 2048;  // several id-list parts
    repo_ = open_repository(config_.database.url, clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{DomainId::parse(config_.export_.domain_id), 200, 2, 7}, {});
    store_ = std::make_unique<LocalStore>(dir_ / "objects");
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
    ExportService service(ExportDeps{config_, *repo_, *store_, *staging_, metrics_, clock_, clock_,
                                     random_, OwnerId("test:1")});
    for (const auto& group : repo_->active_groups(DomainId::parse(config_.export_.domain_id))) {
      GroupResult result = service.export_group(group, Slot{std::chrono::seconds{1'767'225'600}});
      ASSERT_FALSE(result.failed()) << result.error;
      (group.type() == GroupType::kCostBased ? file_run_ : id_list_run_) = result.run_id;
    }
  }
  void TearDown() override {
    staging_.reset();
    repo_.reset();
  }

  void deliver_all() {
    auto messages = repo_->claim_messages(1000, OwnerId("relay"), std::chrono::seconds{60});
    std::vector<std::int64_t> ids;
    for (const auto& m : messages) ids.push_back(m.outbox_id);
    repo_->mark_all_published(ids);
  }
  RunCheck check(const RunId& run_id) {
    RunVerifier verifier(config_, *repo_, *store_);
    return verifier.check(*repo_->find_run(run_id));
  }
  void exec(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open((dir_ / "db.sqlite").c_str(), &db);
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }

  testing::TempDir dir_{"run-verifier-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<StagingDir> staging_;
  RunId file_run_;
  RunId id_list_run_;
};

TEST_F(RunVerifierTest, DeliveredRunsOfBothKindsAgree) {
  deliver_all();
  ASSERT_GT(repo_->run_messages(id_list_run_).size(), 1u) << "expected several parts";
  for (const auto& run_id : {file_run_, id_list_run_}) {
    const RunCheck result = check(run_id);
    EXPECT_TRUE(result.ok()) << describe(result);
    EXPECT_EQ(describe(result), "OK run " + run_id.str() + " group " + result.run.group_id.str());
  }
}

TEST_F(RunVerifierTest, APendingMessageIsADifference) {
  const RunCheck result = check(file_run_);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(describe(result), "FAIL run " + file_run_.str())) << describe(result);
  EXPECT_TRUE(contains(describe(result), "still pending, not delivered")) << describe(result);
  EXPECT_EQ(result.differences.size(), 1u) << describe(result);
}

TEST_F(RunVerifierTest, EachFailingRunIsCountedInTheVerifyFailuresMetric) {
  Metrics metrics;
  Counter& failures = metrics.counter(meters::kVerifyFailures);
  RunVerifier verifier(config_, *repo_, *store_);
  const std::vector<ExportRun> runs = {*repo_->find_run(file_run_), *repo_->find_run(id_list_run_)};
  auto checks = verify_runs(verifier, runs, &failures);  // messages still pending: both fail
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_FALSE(checks[0].ok());
  EXPECT_NE(metrics.prometheus_text().find("users_export_verify_failures_total 2"),
            std::string::npos)
      << metrics.prometheus_text();
  deliver_all();
  checks = verify_runs(verifier, runs, &failures);
  EXPECT_TRUE(checks[0].ok() && checks[1].ok()) << describe(checks[0]) << describe(checks[1]);
  EXPECT_EQ(metrics.value(meters::kVerifyFailures.name), 2);
}

TEST_F(RunVerifierTest, AFlippedByteOrAMissingObjectIsNamed) {
  deliver_all();
  const std::string key = repo_->find_run(file_run_)->object_key;
  const fs::path path = store_->path_for(key);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x20);
    f.seekp(40);
    f.write(&c, 1);
  }
  const std::string damaged = describe(check(file_run_));
  EXPECT_TRUE(contains(damaged, "has SHA-256")) << damaged;

  fs::remove(path);
  const std::string missing = describe(check(file_run_));
  EXPECT_TRUE(contains(missing, "object " + key + " is missing from the store")) << missing;
  EXPECT_TRUE(check(id_list_run_).ok());
}

TEST_F(RunVerifierTest, AnUnmarkedUserOrAnIdMissingFromTheMessagesIsNamed) {
  deliver_all();
  exec(
      "UPDATE users SET sent_to_matching_service = 0 WHERE id = (SELECT min(user_id) FROM "
      "export_run_items WHERE run_id = '" +
      id_list_run_.str() + "')");
  const RunCheck unmarked = check(id_list_run_);
  EXPECT_TRUE(contains(describe(unmarked), "99 of the 100 claimed users are marked sent"))
      << describe(unmarked);

  const std::string group = repo_->find_run(id_list_run_)->group_id.str();
  exec(
      "INSERT INTO users (ref_id, username, group_id, sent_to_matching_service, created_at) "
      "VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'late', '" +
      group + "', 1, '2025-01-01 00:00:00')");
  exec("INSERT INTO export_run_items (run_id, user_id) SELECT '" + id_list_run_.str() +
       "', id FROM users WHERE ref_id = 'aaaaaaaa-0000-4000-8000-000000000001'");
  exec("UPDATE export_runs SET item_count = item_count + 1 WHERE run_id = '" + id_list_run_.str() +
       "'");
  const std::string extra = describe(check(id_list_run_));
  EXPECT_TRUE(contains(extra, "the messages carry 100 ids, the run claimed 101 users")) << extra;
}

TEST_F(RunVerifierTest, AReplayedRunAgreesOnceTheCopiesAreDeliveredAndWaitsUntilThen) {
  deliver_all();
  const std::size_t parts = repo_->run_messages(id_list_run_).size();
  for (const auto& run_id : {file_run_, id_list_run_}) {
    ASSERT_GT(repo_->replay_run(run_id, "cli:ops@host", "consumer lost it"), 0);
  }
  ASSERT_EQ(repo_->run_messages(id_list_run_).size(), 2 * parts);
  // The copies are in the outbox but not yet sent: that is a delivery difference, only that.
  for (const auto& run_id : {file_run_, id_list_run_}) {
    const RunCheck pending = check(run_id);
    ASSERT_FALSE(pending.ok());
    for (const auto& d : pending.differences) {
      EXPECT_TRUE(contains(d, "still pending, not delivered")) << describe(pending);
    }
  }
  deliver_all();
  // Delivered twice is what a replay means: the parts and ids are checked once, not doubled.
  for (const auto& run_id : {file_run_, id_list_run_}) {
    const RunCheck replayed = check(run_id);
    EXPECT_TRUE(replayed.ok()) << describe(replayed);
  }
}

TEST_F(RunVerifierTest, AReExportedRunsUnmarkedUsersAreNotADifference) {
  deliver_all();
  ASSERT_EQ(repo_->reexport_run(file_run_, "cli:ops@host", "file was corrupt"), 100);
  const RunCheck reexported = check(file_run_);
  EXPECT_TRUE(reexported.ok()) << describe(reexported);
  // Without the recorded action the same unmarked users are a difference.
  exec(
      "UPDATE users SET sent_to_matching_service = 0 WHERE id = (SELECT min(user_id) FROM "
      "export_run_items WHERE run_id = '" +
      id_list_run_.str() + "')");
  EXPECT_FALSE(check(id_list_run_).ok());
}

}  // namespace
}  // namespace user_export
