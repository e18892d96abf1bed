#include "plan/export_plan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "exporter/export_service.hpp"
#include "format/staging_dir.hpp"
#include "observe/metrics.hpp"
#include "source/group_selection.hpp"
#include "storage/local/local_store.hpp"
#include "support/export_test_env.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

class ExportPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::sqlite_export_config(dir_.path());
    config_.messages.max_message_bytes = 2048;  // several id-list parts
    config_.csv.columns[2].mask = MaskMode::kPartial;
    repo_ = open_repository(config_.database.url, clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{domain(), 301, 2, 7}, {});
    store_ = std::make_unique<LocalStore>(dir_ / "objects");
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
  }
  void TearDown() override {
    staging_.reset();
    repo_.reset();
  }
  DomainId domain() const { return DomainId::parse(config_.export_.domain_id); }
  std::vector<GroupPlan> plan_all() {
    ExportPlanner planner(config_, *repo_, "nightly");
    std::vector<GroupPlan> plans;
    for (const auto& g : select_groups(*repo_, domain(), {}))
      plans.push_back(planner.plan(g, slot_));
    return plans;
  }
  GroupResult export_group(const MatchingGroup& group) {
    ExportService service(ExportDeps{config_, *repo_, *store_, *staging_, metrics_, clock_, clock_,
                                     random_, OwnerId("test:1")});
    return service.export_group(group, slot_);
  }

  testing::TempDir dir_{"export-plan-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<StagingDir> staging_;
  Slot slot_{std::chrono::seconds{1'767'225'600}};
};

TEST_F(ExportPlanTest, ThePlanIsWhatTheExportThenDoesAndWritesNothing) {
  const std::vector<GroupPlan> plans = plan_all();
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_TRUE(repo_->recent_runs(10).empty()) << "the plan claimed something";
  for (const GroupPlan& plan : plans) {
    ASSERT_TRUE(plan.error.empty()) << plan.error;
    EXPECT_FALSE(plan.resumes_run);
    const GroupResult result = export_group(plan.group);
    ASSERT_FALSE(result.failed()) << result.error;
    EXPECT_EQ(plan.users, result.rows) << plan.group.type_name;
    EXPECT_EQ(plan.messages, static_cast<int>(result.messages)) << plan.group.type_name;
    if (plan.group.type() == GroupType::kCostBased) {
      EXPECT_FALSE(plan.estimated_bytes) << "no history yet: unknown";
      ASSERT_TRUE(plan.key_prefix);
      EXPECT_EQ(*plan.key_prefix, "nightly/" + plan.group.domain_id.str() + "/" +
                                      plan.group.id.str() + "/2026-01-01T0000Z/");
      ASSERT_EQ(plan.masked_columns.size(), 1u);
      EXPECT_EQ(plan.masked_columns[0].column, "email");
      EXPECT_EQ(plan.masked_columns[0].mask, "partial");
    } else {
      EXPECT_GT(plan.messages, 1);
      EXPECT_FALSE(plan.key_prefix);
      EXPECT_TRUE(plan.masked_columns.empty());
    }
  }
  for (const GroupPlan& plan : plan_all()) {
    EXPECT_EQ(plan.users, 0);
    EXPECT_EQ(plan.messages, 0);
  }
}

TEST_F(ExportPlanTest, EstimatesFromHistoryAndResumesAnUnfinishedClaim) {
  const auto groups = select_groups(*repo_, domain(), {});
  const MatchingGroup& file_group =
      groups[0].type() == GroupType::kCostBased ? groups[0] : groups[1];
  const GroupResult first = export_group(file_group);
  ASSERT_TRUE(first.outcome == GroupOutcome::kExported && first.file) << first.error;

  repo_->seed(SeedPlan{domain(), 20, 2, 8}, {});  // new unsent users in new groups
  ClaimRequest claim;
  const auto all = select_groups(*repo_, domain(), {});
  for (const auto& g : all) {
    if (g.id != file_group.id && g.type() == GroupType::kCostBased &&
        repo_->claimable_users(g.id) > 0 && claim.new_run_id.empty()) {
      claim.group_id = g.id;
      claim.domain_id = domain();
      claim.slot = slot_;
      claim.owner = OwnerId("dead:1");
      claim.lease = std::chrono::seconds{1};
      claim.new_run_id = RunId("11111111-2222-4333-8444-555555555555");
    }
  }
  ASSERT_FALSE(claim.new_run_id.empty());
  const ExportRun claimed = repo_->claim(claim);
  clock_.advance(std::chrono::seconds{5});  // its lease ran out: the export would resume it

  ExportPlanner planner(config_, *repo_, "");
  const GroupPlan resumed = planner.plan(*repo_->find_group(claim.group_id), slot_);
  ASSERT_TRUE(resumed.resumes_run);
  EXPECT_EQ(*resumed.resumes_run, claimed.run_id.str());
  EXPECT_EQ(resumed.users, claimed.item_count);
  const double per_row = static_cast<double>(first.file->bytes) / static_cast<double>(first.rows);
  ASSERT_TRUE(resumed.estimated_bytes);  // no history of its own: all groups'
  EXPECT_EQ(*resumed.estimated_bytes,
            std::llround(per_row * static_cast<double>(claimed.item_count)));

  const GroupResult done = export_group(*repo_->find_group(claim.group_id));
  ASSERT_EQ(done.outcome, GroupOutcome::kExported) << done.error;
  EXPECT_EQ(done.run_id, claimed.run_id);
  EXPECT_EQ(done.rows, resumed.users);

  const auto json = nlohmann::json::parse(plan_json({resumed}));
  EXPECT_EQ(json[0]["resumesRun"], claimed.run_id.str());
  EXPECT_EQ(json[0]["users"], resumed.users);
}

TEST_F(ExportPlanTest, AnUnknownOrMalformedGroupIsRefusedInOneSentence) {
  try {
    select_groups(*repo_, domain(), {"5f0c6c1e-8d0b-4c57-9a57-000000000000"});
    FAIL() << "an unknown group was planned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(select_groups(*repo_, domain(), {"not-a-uuid"}), Error);
}

}  // namespace
}  // namespace user_export
