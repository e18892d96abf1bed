// The batch part of the Repository contract: stream_batch() and commit_batch() over several runs.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

int batch_contract_anchor() {
  return 0;
}

TEST_P(RepositoryContract, StreamBatchAndCommitBatchCoverEveryRunAndFenceEachOnItsOwn) {
  std::vector<RunId> runs;
  std::vector<std::vector<std::int64_t>> users(3);
  for (int g = 0; g < 3; ++g) {
    const std::string group = add_group(domain_);
    for (int u = 0; u < 2 + g; ++u) users[g].push_back(add_user(group));
    runs.push_back(repo_->claim(claim_request(group, slot1_, "a")).run_id);
  }
  struct Collect : BatchRowHandler {
    std::vector<std::vector<std::int64_t>> ids;
    void begin_run(std::size_t index) override {
      EXPECT_EQ(index, ids.size());
      ids.emplace_back();
    }
    void on_row(RowView row) override { ids.back().push_back(std::stoll(std::string(*row[0]))); }
  } collect;
  repo_->stream_batch(runs, {"id"}, collect);
  EXPECT_EQ(collect.ids, users);

  db_->exec("UPDATE export_runs SET lease_owner = 'b' WHERE run_id = " + quote(runs[2]));
  std::vector<CommitRequest> commits;
  for (const RunId& run : runs) {
    CommitRequest request;
    request.run_id = run;
    request.owner = OwnerId("a");
    request.attempt = 1;
    request.messages = {message(run, "{}")};
    commits.push_back(request);
  }
  const std::vector<std::optional<Error>> outcomes = repo_->commit_batch(commits);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0]);
  EXPECT_FALSE(outcomes[1]);
  ASSERT_TRUE(outcomes[2]);
  EXPECT_EQ(outcomes[2]->code(), ErrorCode::kLeaseLost);
  EXPECT_EQ(sent_among(users[0]), 2);
  EXPECT_EQ(sent_among(users[1]), 3);
  EXPECT_EQ(sent_among(users[2]), 0);
  EXPECT_EQ(repo_->find_run(runs[0])->state, RunState::kCommitted);
  EXPECT_EQ(repo_->find_run(runs[2])->state, RunState::kClaimed);
  EXPECT_EQ(repo_->pending_count(), 2);
}

}  // namespace user_export::testing
