// The operator's part of the Repository contract: listing runs by group, state and age, and
// replaying or re-exporting a finished run (docs/OPERATIONS.md), each all or nothing.
#include <algorithm>
#include <cctype>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int run_actions_contract_anchor() {
  return 0;
}

namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

}  // namespace

TEST_P(RepositoryContract, ListRunsSelectsByGroupStateAndAgeNewestFirst) {
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  add_user(a);
  const ExportRun a1 = repo_->claim(claim_request(a, slot1_, "x"));
  commit_run(a1.run_id, "x", {message(a1.run_id, "{}")});
  clock_.advance(seconds{10});
  const SystemTime after_first = clock_.now();
  const ExportRun b1 = repo_->claim(claim_request(b, slot1_, "x"));  // claimed: nobody to send
  clock_.advance(seconds{10});
  add_user(a);
  const ExportRun a2 = repo_->claim(claim_request(a, slot2_, "x"));

  auto ids = [](const std::vector<ExportRun>& runs) {
    std::vector<RunId> out;
    for (const auto& r : runs) out.push_back(r.run_id);
    return out;
  };
  RunFilter all;
  EXPECT_EQ(ids(repo_->list_runs(all)), (std::vector{a2.run_id, b1.run_id, a1.run_id}));
  RunFilter of_a;
  of_a.group = GroupId::parse(upper(a));
  EXPECT_EQ(ids(repo_->list_runs(of_a)), (std::vector{a2.run_id, a1.run_id}));
  RunFilter committed;
  committed.state = RunState::kCommitted;
  EXPECT_EQ(ids(repo_->list_runs(committed)), (std::vector{a1.run_id}));
  RunFilter recent;
  recent.since = after_first;
  EXPECT_EQ(ids(repo_->list_runs(recent)), (std::vector{a2.run_id, b1.run_id}));
  RunFilter claimed_of_a = of_a;
  claimed_of_a.state = RunState::kClaimed;
  claimed_of_a.limit = 1;
  EXPECT_EQ(ids(repo_->list_runs(claimed_of_a)), (std::vector{a2.run_id}));
  RunFilter none;
  none.group = GroupId::parse(uuid(2, 999));
  EXPECT_TRUE(repo_->list_runs(none).empty());
}

TEST_P(RepositoryContract, AReplayQueuesTheCommittedMessagesAgainWithTheReason) {
  const ExportRun run = committed_run({"{\"part\":1}", "{\"part\":2}"});
  const auto originals = repo_->pending_messages(10);
  ASSERT_EQ(originals.size(), 2u);
  std::vector<std::int64_t> ids{originals[0].outbox_id, originals[1].outbox_id};
  repo_->mark_all_published(ids);
  ASSERT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);

  clock_.advance(seconds{60});
  EXPECT_EQ(repo_->replay_run(RunId(upper(run.run_id.str())), "cli:ops@host", "consumer lost it"),
            2);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  const auto replayed = repo_->pending_messages(10);
  ASSERT_EQ(replayed.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(replayed[i].payload, originals[i].payload);
    EXPECT_EQ(replayed[i].topic, originals[i].topic);
    EXPECT_EQ(replayed[i].key, originals[i].key);
    EXPECT_EQ(replayed[i].run_id, run.run_id);
    auto expected = originals[i].headers;
    expected.emplace_back("replay", "consumer lost it");
    EXPECT_EQ(replayed[i].headers, expected);
  }

  // Delivering the replay completes the run again; a second replay repeats the commit's
  // messages, not the first replay's.
  std::vector<std::int64_t> again{replayed[0].outbox_id, replayed[1].outbox_id};
  repo_->mark_all_published(again);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->replay_run(run.run_id, "admin-api:127.0.0.1", "once more"), 2);
  const auto second = repo_->pending_messages(10);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].headers.back(), (std::pair<std::string, std::string>{"replay", "once more"}));
  EXPECT_EQ(second[0].headers.size(), originals[0].headers.size() + 1);

  const auto actions = repo_->run_actions(run.run_id);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].kind, RunActionKind::kReplay);
  EXPECT_EQ(actions[0].actor, "cli:ops@host");
  EXPECT_EQ(actions[0].reason, "consumer lost it");
  EXPECT_EQ(actions[0].count, 2);
  EXPECT_EQ(actions[0].at, clock_.now());
  EXPECT_EQ(actions[1].actor, "admin-api:127.0.0.1");
}

TEST_P(RepositoryContract, AReexportSetsOnlyTheRunsStillSentUsersBackToUnsent) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  commit_run(run.run_id, "x", {message(run.run_id, "{}")});
  const auto other = add_user(group, /*sent=*/true);  // sent, but not by this run
  ASSERT_TRUE(is_sent(u1) && is_sent(u2));

  EXPECT_EQ(repo_->reexport_run(run.run_id, "cli:ops@host", "file was corrupt downstream"), 2);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_FALSE(is_sent(u2));
  EXPECT_TRUE(is_sent(other));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);  // the run is unchanged

  // The next claim of the group takes exactly those users, in a new run.
  const ExportRun next = repo_->claim(claim_request(group, slot2_, "x"));
  EXPECT_NE(next.run_id, run.run_id);
  EXPECT_EQ(streamed_ids(next.run_id), (std::vector{u1, u2}));

  // Nothing left to set back: the action is still recorded, with 0 users.
  EXPECT_EQ(repo_->reexport_run(run.run_id, "cli:ops@host", "again"), 0);
  const auto actions = repo_->run_actions(run.run_id);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].kind, RunActionKind::kReexport);
  EXPECT_EQ(actions[0].count, 2);
  EXPECT_EQ(actions[1].count, 0);
}

TEST_P(RepositoryContract, ActionsOnAnUnknownUnfinishedOrEmptyRunChangeNothing) {
  const std::string group = add_group(domain_);
  const auto user = add_user(group);
  const ExportRun claimed = repo_->claim(claim_request(group, slot1_, "x"));
  const std::string empty_group = add_group(domain_);
  const ExportRun empty = repo_->claim(claim_request(empty_group, slot1_, "x"));
  repo_->complete_empty(empty.run_id, OwnerId("x"), empty.attempts);

  for (const RunId& id :
       {claimed.run_id, empty.run_id, RunId(uuid(4, 424242)), RunId("not-a-run"), RunId("")}) {
    EXPECT_EQ(error_code_of([&] { repo_->replay_run(id, "cli:ops@host", "why"); }),
              ErrorCode::kInvalidInput)
        << id;
    EXPECT_EQ(error_code_of([&] { repo_->reexport_run(id, "cli:ops@host", "why"); }),
              ErrorCode::kInvalidInput)
        << id;
  }
  // A missing reason or actor is refused even for a finished run.
  const ExportRun done = committed_run({"{}"});
  EXPECT_EQ(error_code_of([&] { repo_->replay_run(done.run_id, "cli:ops@host", "  "); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(error_code_of([&] { repo_->reexport_run(done.run_id, "", "why"); }),
            ErrorCode::kInvalidInput);

  EXPECT_FALSE(is_sent(user));
  EXPECT_EQ(repo_->pending_count(), 1);  // done's own message only
  EXPECT_EQ(count("SELECT count(*) FROM export_run_actions"), 0);
  EXPECT_EQ(repo_->find_run(claimed.run_id)->state, RunState::kClaimed);
}

TEST_P(RepositoryContract, ARunsActionsOutliveItsPruning) {
  const ExportRun run = committed_run({"{}"});
  auto pending = repo_->pending_messages(10);
  repo_->mark_published(pending.at(0).outbox_id);
  repo_->reexport_run(run.run_id, "cli:ops@host", "audit me");
  clock_.advance(std::chrono::hours{24 * 40});
  PruneRequest request;
  request.older_than = clock_.now() - std::chrono::hours{24 * 30};
  repo_->prune(request);
  EXPECT_FALSE(repo_->find_run(run.run_id));
  ASSERT_EQ(repo_->run_actions(run.run_id).size(), 1u);
  EXPECT_EQ(repo_->run_actions(run.run_id)[0].reason, "audit me");
}

}  // namespace user_export::testing
