#include "exporter/group_result.hpp"

#include <gtest/gtest.h>

#include <string>

namespace user_export {
namespace {

TEST(GroupResultTest, EveryOutcomeHasItsName) {
  EXPECT_EQ(std::string(to_string(GroupOutcome::kExported)), "exported");
  EXPECT_EQ(std::string(to_string(GroupOutcome::kAlreadyDone)), "already_done");
  EXPECT_EQ(std::string(to_string(GroupOutcome::kEmpty)), "empty");
  EXPECT_EQ(std::string(to_string(GroupOutcome::kSkipped)), "skipped");
  EXPECT_EQ(std::string(to_string(GroupOutcome::kFailed)), "failed");
}

TEST(GroupResultTest, OnlyAFailedOutcomeIsAFailure) {
  GroupResult result;
  EXPECT_TRUE(result.failed()) << "a result says it failed until an export finished it";
  for (GroupOutcome outcome : {GroupOutcome::kExported, GroupOutcome::kAlreadyDone,
                               GroupOutcome::kEmpty, GroupOutcome::kSkipped}) {
    result.outcome = outcome;
    EXPECT_FALSE(result.failed()) << to_string(outcome);
  }
}

}  // namespace
}  // namespace user_export
