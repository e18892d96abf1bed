#include "service/retention.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "source/sqlite/sqlite_repository.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr const char* kDomain = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

/// An SQLite database with two seeded groups: one exported and delivered (a completed run),
/// one exported with its message still pending (a committed run).
class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<SqliteRepository>((dir_ / "ue.db").string(), clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{DomainId::parse(kDomain), 4, 2, 7}, {});
    const auto groups = repo_->active_groups(DomainId::parse(kDomain));
    ASSERT_EQ(groups.size(), 2u);
    delivered_ = export_group(groups[0]);
    repo_->mark_published(repo_->pending_messages(10).front().outbox_id);
    pending_ = export_group(groups[1]);
  }

  RunId export_group(const MatchingGroup& group) {
    ClaimRequest claim;
    claim.group_id = group.id;
    claim.domain_id = DomainId::parse(kDomain);
    claim.slot = std::chrono::floor<seconds>(clock_.now());
    claim.owner = OwnerId("test");
    claim.new_run_id = RunId("00000000-0000-4000-8000-00000000000" + std::to_string(++runs_));
    const ExportRun run = repo_->claim(claim);
    CommitRequest commit;
    commit.run_id = run.run_id;
    commit.owner = OwnerId("test");
    commit.attempt = run.attempts;
    OutboundMessage message;
    message.run_id = run.run_id;
    message.topic = "t";
    message.key = "k";
    message.payload = "{}";
    commit.messages.push_back(message);
    repo_->commit(commit);
    return run.run_id;
  }

  double pruned(const std::string& table) const {
    return metrics_.value("users_export_pruned_rows_total", {{"table", table}});
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  Metrics metrics_;
  std::unique_ptr<SqliteRepository> repo_;
  RunId delivered_;
  RunId pending_;
  int runs_ = 0;
};

TEST_F(RetentionTest, PrunesShortlyAfterStartThenOnceADayAndCountsWhatItDeleted) {
  RetentionOptions options;
  options.days = 30;
  options.first_after = seconds(60);
  Retention retention(*repo_, clock_, metrics_, options);

  EXPECT_FALSE(retention.run_if_due());
  clock_.advance(seconds(60));
  EXPECT_TRUE(retention.run_if_due());  // nothing is 30 days old yet
  EXPECT_TRUE(repo_->find_run(delivered_).has_value());
  EXPECT_EQ(pruned("export_runs"), 0.0);
  EXPECT_EQ(retention.next_due(), clock_.now() + hours(24));

  clock_.advance(hours(24) * 31);
  EXPECT_TRUE(retention.run_if_due());
  EXPECT_FALSE(repo_->find_run(delivered_).has_value());
  EXPECT_EQ(repo_->find_run(pending_)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(pruned("export_runs"), 1.0);
  EXPECT_EQ(pruned("export_run_items"), 2.0);  // 4 users in 2 groups
  EXPECT_EQ(pruned("export_outbox"), 1.0);

  clock_.advance(hours(23));
  EXPECT_FALSE(retention.run_if_due());
  clock_.advance(hours(1));
  EXPECT_TRUE(retention.run_if_due());
  EXPECT_EQ(pruned("export_runs"), 1.0);
}

TEST_F(RetentionTest, PruneNowUsesTheGivenPeriodAndRefusesLessThanADay) {
  Retention retention(*repo_, clock_, metrics_, RetentionOptions{});
  clock_.advance(hours(24) * 3);
  EXPECT_EQ(retention.prune_now().total(), 0);
  const PruneCounts counts = retention.prune_now(2);
  EXPECT_EQ(counts.runs, 1);
  EXPECT_EQ(counts.outbox, 1);
  try {
    retention.prune_now(0);
    ADD_FAILURE() << "a retention of 0 days was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
}

TEST_F(RetentionTest, AFailedPruneIsRetriedLater) {
  RetentionOptions options;
  options.first_after = seconds(0);
  options.retry_after = seconds(600);
  options.batch_rows = 0;  // refused by the repository
  Retention retention(*repo_, clock_, metrics_, options);
  EXPECT_FALSE(retention.run_if_due());
  EXPECT_EQ(retention.next_due(), clock_.now() + seconds(600));
}

}  // namespace
}  // namespace user_export
