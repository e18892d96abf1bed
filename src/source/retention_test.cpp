#include "source/retention.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export {
namespace {

std::vector<std::vector<std::string>> ids_of(const std::vector<std::vector<PrunableRun>>& groups) {
  std::vector<std::vector<std::string>> out;
  for (const auto& group : groups) {
    auto& ids = out.emplace_back();
    for (const auto& run : group) ids.push_back(run.run_id.str());
  }
  return out;
}

TEST(PruneGroups, SmallRunsShareATransactionUpToTheBatchSize) {
  // Each run costs its users plus one row.
  const std::vector<PrunableRun> runs = {
      {RunId("a"), 2}, {RunId("b"), 3}, {RunId("c"), 0}, {RunId("d"), 4}, {RunId("e"), 0}};
  EXPECT_EQ(ids_of(prune_groups(runs, 8)),
            (std::vector<std::vector<std::string>>{{"a", "b", "c"}, {"d", "e"}}));
}

TEST(PruneGroups, ARunLargerThanABatchIsAGroupOfItsOwn) {
  const std::vector<PrunableRun> runs = {{RunId("a"), 0}, {RunId("big"), 50}, {RunId("b"), 0}};
  EXPECT_EQ(ids_of(prune_groups(runs, 10)),
            (std::vector<std::vector<std::string>>{{"a"}, {"big"}, {"b"}}));
  EXPECT_TRUE(prune_groups({}, 10).empty());
}

TEST(PruneGroups, ABatchBelowOneRowIsRefused) {
  PruneRequest request;
  request.batch_rows = 0;
  EXPECT_THROW(check_prune_request(request), Error);
  request.batch_rows = 1;
  EXPECT_NO_THROW(check_prune_request(request));
}

}  // namespace
}  // namespace user_export
