#include "operate/run_operator.hpp"

#include <gtest/gtest.h>

#include "source/sqlite/sqlite_repository.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

class RunOperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<SqliteRepository>((dir_.path() / "db.sqlite").string(), clock_);
    repo_->migrate();
    SeedPlan plan;
    plan.domain_id = DomainId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    plan.users = 5;
    plan.groups = 1;
    repo_->seed(plan, nullptr);
    const MatchingGroup group = repo_->active_groups(plan.domain_id).at(0);
    ClaimRequest claim;
    claim.group_id = group.id;
    claim.domain_id = plan.domain_id;
    claim.slot = Slot{std::chrono::seconds{1'767'225'600}};
    claim.owner = OwnerId("x");
    claim.new_run_id = RunId("0b7c3a52-7f7e-4d3c-9a52-4c1e2f0d9a11");
    run_ = repo_->claim(claim);
    CommitRequest commit;
    commit.run_id = run_.run_id;
    commit.owner = OwnerId("x");
    commit.attempt = run_.attempts;
    OutboundMessage message;
    message.topic = "t";
    message.key = group.id.str();
    message.payload = "{}";
    commit.messages.push_back(message);
    repo_->commit(commit);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<SqliteRepository> repo_;
  ExportRun run_;
};

TEST_F(RunOperatorTest, ActingOnAnUnknownRunAnswersNothingAndAMalformedIdIsNamed) {
  RunOperator op(*repo_);
  EXPECT_FALSE(op.detail(RunId("11111111-2222-3333-4444-555555555555")));
  EXPECT_FALSE(op.act(RunId("11111111-2222-3333-4444-555555555555"), "replay", "cli:a@b", "why"));
  try {
    op.act(RunId::parse("yesterday"), "replay", "cli:a@b", "why");
    FAIL() << "a malformed run id was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("'yesterday' is not a run id"), std::string::npos);
  }
  EXPECT_EQ(repo_->pending_count(), 1);
}

TEST_F(RunOperatorTest, AnActionIsAnsweredAndShowsInTheRunsDetail) {
  RunOperator op(*repo_);
  auto replayed = op.act(run_.run_id, "replay", "cli:a@b", "lost downstream");
  ASSERT_TRUE(replayed);
  EXPECT_EQ((*replayed)["messages"], 1);
  EXPECT_EQ(repo_->pending_count(), 2);
  auto reexported = op.act(run_.run_id, "reexport", "cli:a@b", "redo the file");
  ASSERT_TRUE(reexported);
  EXPECT_EQ((*reexported)["users"], 5);
  auto detail = op.detail(run_.run_id);
  ASSERT_TRUE(detail);
  ASSERT_EQ((*detail)["actions"].size(), 2u);
  EXPECT_EQ((*detail)["actions"][1]["reason"], "redo the file");
  const auto& messages = (*detail)["messages"];
  ASSERT_EQ(messages.size(), 2u);  // the original and its replayed copy, both still pending
  EXPECT_EQ(messages[0]["state"], "pending");
  EXPECT_FALSE(messages[0]["headers"].contains("replay"));
  EXPECT_EQ(messages[1]["headers"]["replay"], "lost downstream");
  EXPECT_EQ(messages[1]["state"], "pending");
}

TEST(CliActor, NamesTheUserAndTheHost) {
  const std::string actor = cli_actor();
  EXPECT_TRUE(actor.starts_with("cli:"));
  EXPECT_NE(actor.find('@'), std::string::npos);
}

}  // namespace
}  // namespace user_export
