// The read-only inspection part of the Repository contract (`plan`, `verify`): what a claim
// would take, the history of file runs, the finished runs, the marked users of a claim and the
// messages of a run with their delivery state. None of it writes.
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int inspection_contract_anchor() {
  return 0;
}

namespace {

/// Collects the first column of each streamed row as an integer.
struct IdCollector : RowHandler {
  std::vector<std::int64_t> ids;
  void on_row(RowView row) override { ids.push_back(std::stoll(std::string(*row[0]))); }
};

}  // namespace

TEST_P(RepositoryContract, ClaimableUsersAreExactlyWhatTheNextClaimTakesAndReadingWritesNothing) {
  const std::string group = add_group(domain_);
  const std::string other = add_group(domain_);
  const std::int64_t u1 = add_user(group);
  add_user(group, /*sent=*/true);
  const std::int64_t u3 = add_user(group);
  add_user(other);
  const GroupId id = GroupId::parse(group);

  EXPECT_FALSE(repo_->unfinished_run(id));
  EXPECT_EQ(repo_->claimable_users(id), 2);
  IdCollector before;
  repo_->stream_claimable(id, {"id"}, before);
  EXPECT_EQ(before.ids, (std::vector<std::int64_t>{u1, u3}));
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 0);  // nothing was claimed

  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  EXPECT_EQ(streamed_ids(run.run_id), before.ids);
  const auto unfinished = repo_->unfinished_run(id);
  ASSERT_TRUE(unfinished);
  EXPECT_EQ(unfinished->run_id, run.run_id);
  EXPECT_EQ(unfinished->item_count, 2);
  EXPECT_EQ(repo_->claimable_users(id), 0);  // held by the unfinished run

  const std::int64_t u4 = add_user(group);
  EXPECT_EQ(repo_->claimable_users(id), 1);
  IdCollector after;
  repo_->stream_claimable(id, {"id", "ref_id"}, after);
  EXPECT_EQ(after.ids, (std::vector<std::int64_t>{u4}));
  EXPECT_EQ(repo_->claimable_users(GroupId::parse(uuid(2, 999))), 0);
}

TEST_P(RepositoryContract, FileRunTotalsSumTheFinishedFileRunsOfTheGroupOrOfAll) {
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  EXPECT_EQ(repo_->file_run_totals(std::nullopt).runs, 0);
  auto commit_file = [&](const std::string& group, std::int64_t rows, std::int64_t bytes) {
    add_user(group);
    const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
    CommitRequest request;
    request.run_id = run.run_id;
    request.owner = OwnerId("x");
    request.attempt = run.attempts;
    ExportedFile file;
    file.object_key = "k/" + run.run_id.str();
    file.rows = rows;
    file.bytes = bytes;
    file.sha256 = std::string(64, 'a');
    request.file = file;
    request.messages.push_back(message(run.run_id, "{}"));
    repo_->commit(request);
    clock_.advance(seconds{1});
    slot1_ += seconds{1};
  };
  commit_file(a, 10, 400);
  commit_file(a, 30, 800);
  commit_file(b, 5, 100);
  add_user(b);
  repo_->claim(claim_request(b, slot2_, "x"));  // unfinished: not counted

  const FileRunTotals of_a = repo_->file_run_totals(GroupId::parse(a));
  EXPECT_EQ(of_a.runs, 2);
  EXPECT_EQ(of_a.rows, 40);
  EXPECT_EQ(of_a.bytes, 1200);
  const FileRunTotals all = repo_->file_run_totals(std::nullopt);
  EXPECT_EQ(all.runs, 3);
  EXPECT_EQ(all.rows, 45);
  EXPECT_EQ(all.bytes, 1300);
  EXPECT_EQ(repo_->file_run_totals(GroupId::parse(uuid(2, 999))).runs, 0);
}

TEST_P(RepositoryContract, FinishedRunsSinceListsCommittedAndCompletedRunsOldestFirst) {
  committed_run({"{\"n\":1}"});  // before `since`
  clock_.advance(seconds{10});
  const SystemTime since = clock_.now();
  const ExportRun first = committed_run({"{\"n\":2}"});
  clock_.advance(seconds{1});
  const ExportRun second = committed_run({"{\"n\":3}"});
  repo_->mark_published(repo_->run_messages(second.run_id).at(0).outbox_id);  // completed
  const std::string busy = add_group(domain_);
  add_user(busy);
  repo_->claim(claim_request(busy, slot1_, "x"));  // claimed: not finished

  const auto runs = repo_->finished_runs_since(since);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, first.run_id);
  EXPECT_EQ(runs[0].state, RunState::kCommitted);
  EXPECT_EQ(runs[1].run_id, second.run_id);
  EXPECT_EQ(runs[1].state, RunState::kCompleted);
  EXPECT_EQ(repo_->finished_runs_since(since - seconds{60}).size(), 3u);
}

TEST_P(RepositoryContract, RunMessagesCarryTheirDeliveryStateAndClaimedUsersSentCountsMarks) {
  const ExportRun run = committed_run({"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"});
  EXPECT_EQ(repo_->claimed_users_sent(run.run_id), 1);

  auto messages = repo_->run_messages(run.run_id);
  ASSERT_EQ(messages.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const RunMessage& m = messages[static_cast<std::size_t>(i)];
    EXPECT_EQ(m.seq, i);
    EXPECT_EQ(m.state, "pending");
    EXPECT_EQ(m.payload, "{\"n\":" + std::to_string(i + 1) + "}");
    EXPECT_EQ(m.topic, "flairbit-users");
    EXPECT_EQ(m.key, "key-" + m.payload);
    EXPECT_EQ(m.headers, message(run.run_id, "").headers);
    EXPECT_EQ(m.created_at, clock_.now());
    EXPECT_FALSE(m.published_at);
  }
  clock_.advance(seconds{5});
  repo_->mark_published(messages[0].outbox_id);
  repo_->mark_dead_lettered(messages[1].outbox_id, "too large");
  repo_->record_publish_failure(messages[2].outbox_id, "broker down", clock_.now());

  messages = repo_->run_messages(run.run_id);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].state, "published");
  ASSERT_TRUE(messages[0].published_at);
  EXPECT_EQ(*messages[0].published_at, clock_.now());
  EXPECT_EQ(messages[1].state, "dead_lettered");
  EXPECT_EQ(messages[2].state, "pending");
  EXPECT_EQ(messages[2].attempts, 1);
  EXPECT_EQ(messages[2].last_error, "broker down");

  db_->exec("UPDATE users SET sent_to_matching_service = false");
  EXPECT_EQ(repo_->claimed_users_sent(run.run_id), 0);
  EXPECT_TRUE(repo_->run_messages(RunId(uuid(4, 123456))).empty());
  EXPECT_EQ(repo_->claimed_users_sent(RunId(uuid(4, 123456))), 0);
}

}  // namespace user_export::testing
