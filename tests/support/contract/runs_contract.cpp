// The runs part of the Repository contract: listing runs, and which runs the start-up sweep
// visits.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int runs_contract_anchor() {
  return 0;
}

// ---- runs ----

TEST_P(RepositoryContract, RecentRunsAreNewestFirstAndFindRunKnowsOnlyRealRuns) {
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  const ExportRun ra = repo_->claim(claim_request(a, slot1_, "x"));
  clock_.advance(seconds{1});
  const ExportRun rb = repo_->claim(claim_request(b, slot1_, "x"));
  const auto runs = repo_->recent_runs(10);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, rb.run_id);
  EXPECT_EQ(runs[1].run_id, ra.run_id);
  EXPECT_EQ(runs[1].created_at, clock_.now() - seconds{1});
  EXPECT_EQ(repo_->recent_runs(1).size(), 1u);
  EXPECT_FALSE(repo_->find_run(RunId(uuid(4, 123456))));
}

// The start-up sweep visits every unfinished run, and recent finished runs that may have left
// something behind: more than one attempt, or a file big enough to go up in parts.
TEST_P(RepositoryContract, RunsToSweepAreTheUnfinishedAndTheRecentOnesThatMayHaveLeftDebris) {
  auto commit_with_bytes = [&](const ExportRun& run, std::int64_t bytes) {
    CommitRequest request;
    request.run_id = run.run_id;
    request.owner = OwnerId("x");
    request.attempt = repo_->find_run(run.run_id)->attempts;
    ExportedFile file;
    file.object_key = "k/" + run.run_id.str();
    file.rows = 1;
    file.bytes = bytes;
    file.sha256 = std::string(64, 'a');
    request.file = file;
    request.messages = {message(run.run_id, "{}")};
    repo_->commit(request);
  };
  auto run_of_new_group = [&] {
    const std::string group = add_group(domain_);
    add_user(group);
    return repo_->claim(claim_request(group, slot1_, "x"));
  };
  const ExportRun old_unfinished = run_of_new_group();
  const ExportRun old_big = run_of_new_group();
  commit_with_bytes(old_big, 100);
  clock_.advance(std::chrono::hours(48));
  const SystemTime since = clock_.now() - std::chrono::hours(24);
  const ExportRun small = run_of_new_group();
  commit_with_bytes(small, 99);
  const ExportRun big = run_of_new_group();
  commit_with_bytes(big, 100);
  ExportRun retried = run_of_new_group();
  repo_->record_failure(retried.run_id, OwnerId("x"), retried.attempts, "boom");
  retried = repo_->claim(claim_request(retried.group_id.str(), slot1_, "x"));
  ASSERT_EQ(retried.attempts, 2);
  commit_with_bytes(retried, 1);

  std::vector<RunId> ids;
  for (const auto& run : repo_->runs_to_sweep(since, 100, 10)) ids.push_back(run.run_id);
  EXPECT_EQ(ids, (std::vector<RunId>{retried.run_id, big.run_id, old_unfinished.run_id}));
  EXPECT_EQ(repo_->runs_to_sweep(since, 100, 1).size(), 1u);
}

}  // namespace user_export::testing
