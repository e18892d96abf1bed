// Batches of small groups on PostgreSQL: which groups a batch claim takes, the batch stream
// against the claims, and the batch commit's marking and fencing.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export::pg {
namespace {

using namespace user_export::testing;

const Slot kSlot{std::chrono::seconds{1'767'225'600}};

/// Records which run each streamed user id came under.
class RecordingBatchHandler final : public BatchRowHandler {
 public:
  void begin_run(std::size_t index) override {
    began.push_back(index);
    ids.emplace_back();
  }
  void on_row(RowView row) override {
    ASSERT_FALSE(ids.empty()) << "a row before begin_run";
    ASSERT_EQ(row.size(), 2u);
    ids.back().push_back(std::stoll(std::string(*row[0])));
    groups.insert(std::string(*row[1]));
  }
  std::vector<std::size_t> began;
  std::vector<std::vector<std::int64_t>> ids;  ///< by run, in streamed order
  std::set<std::string> groups;
};

class PostgresBatchTest : public PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    domain_ = test_uuid(1, 1);
  }
  BatchClaimRequest batch(const std::vector<std::string>& groups, std::int64_t max_users,
                          const std::string& owner = "me") {
    BatchClaimRequest request;
    for (const std::string& group : groups) request.groups.push_back(GroupId::parse(group));
    request.domain_id = DomainId::parse(domain_);
    request.slot = kSlot;
    request.owner = OwnerId(owner);
    request.lease = std::chrono::seconds{300};
    for (std::size_t i = 0; i < groups.size(); ++i) {
      request.new_run_ids.push_back(RunId(test_uuid(5, next_run_++)));
    }
    request.max_users_per_group = max_users;
    return request;
  }
  /// The run's claimed user ids, ascending.
  std::vector<std::int64_t> claimed(const RunId& run_id) {
    Result r = sql_->exec("SELECT user_id FROM export_run_items WHERE run_id = $1 ORDER BY 1",
                          {run_id.str()});
    std::vector<std::int64_t> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.int64(i, 0));
    return ids;
  }
  std::vector<RunId> run_ids(const std::vector<ExportRun>& runs) {
    std::vector<RunId> ids;
    for (const ExportRun& run : runs) ids.push_back(run.run_id);
    return ids;
  }
  std::string domain_;
  std::uint64_t next_run_ = 1;
};

TEST_F(PostgresBatchTest, ClaimsOnlyGroupsAClaimWouldGiveANewRunAndThatAreSmallEnough) {
  const std::string a = add_group(*sql_, domain_, 1);
  const std::string b = add_group(*sql_, domain_, 2);
  const std::string big = add_group(*sql_, domain_, 3);
  const std::string empty = add_group(*sql_, domain_, 4);
  const std::string leased = add_group(*sql_, domain_, 5);
  const std::string finished = add_group(*sql_, domain_, 6);
  const std::string held = add_group(*sql_, domain_, 7);
  add_users(*sql_, a, 3);
  add_users(*sql_, b, 10);  // exactly the limit
  add_users(*sql_, big, 11);
  add_users(*sql_, leased, 2);
  add_users(*sql_, finished, 2);
  // `leased` has an unfinished run another instance holds; `finished` is done for the slot
  // (and has new users since).
  repo_->claim(claim_request(domain_, leased, kSlot, "other", 900));
  ExportRun done = repo_->claim(claim_request(domain_, finished, kSlot, "me", 901));
  CountingHandler count;
  repo_->stream_rows(done.run_id, {"id"}, count);
  repo_->commit(CommitRequest{done.run_id, OwnerId("me"), done.attempts, true, std::nullopt, {}});
  add_users(*sql_, finished, 1);
  // `held`'s only unsent user is claimed by another group's unfinished run (they moved here):
  // nothing to claim, so the batch leaves the group for a claim of its own, which finds it empty.
  const std::string source = add_group(*sql_, domain_, 8);
  const std::int64_t moved = add_user(*sql_, source);
  repo_->claim(claim_request(domain_, source, kSlot, "other", 904));
  sql_->exec("UPDATE users SET group_id = $1 WHERE id = $2", {held, std::to_string(moved)});

  std::vector<ExportRun> runs =
      repo_->claim_batch(batch({a, b, big, empty, leased, finished, held}, 10));

  ASSERT_EQ(runs.size(), 2u);
  std::set<std::string> groups{runs[0].group_id.str(), runs[1].group_id.str()};
  EXPECT_EQ(groups, (std::set<std::string>{a, b}));
  EXPECT_LT(runs[0].group_id.str(), runs[1].group_id.str()) << "runs come in group order";
  for (const ExportRun& run : runs) {
    EXPECT_EQ(run.state, RunState::kClaimed);
    EXPECT_EQ(run.attempts, 1);
    EXPECT_EQ(run.lease_owner.str(), "me");
    EXPECT_EQ(run.slot, kSlot);
    EXPECT_EQ(run.item_count, run.group_id.str() == a ? 3 : 10);
    EXPECT_EQ(static_cast<std::int64_t>(claimed(run.run_id).size()), run.item_count);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs WHERE group_id IN ($1, $2, $3)",
                   {big, empty, finished}),
            "1")
      << "only `finished`'s earlier run: no run for the groups left out";
  // A group left out is still claimed on its own.
  EXPECT_EQ(repo_->claim(claim_request(domain_, big, kSlot, "me", 902)).item_count, 11);
  ExportRun nothing = repo_->claim(claim_request(domain_, held, kSlot, "me", 905));
  EXPECT_EQ(nothing.item_count, 0);
  EXPECT_EQ(nothing.state, RunState::kClaimed);
  EXPECT_TRUE(nothing.resumed) << "the run the batch created for it";
  repo_->complete_empty(nothing.run_id, OwnerId("me"), nothing.attempts);
  EXPECT_EQ(
      scalar("SELECT count(*) FROM export_run_items WHERE user_id = $1", {std::to_string(moved)}),
      "1")
      << "the moved user stays with the run that claimed them";
}

TEST_F(PostgresBatchTest, StreamsEachRunsClaimedUsersInIdOrderBothFromTheSnapshotAndTheClaims) {
  std::vector<std::string> groups;
  for (int g = 0; g < 5; ++g) {
    groups.push_back(add_group(*sql_, domain_, 10 + g));
    add_users(*sql_, groups.back(), 20 + g);
  }
  // A user claimed by another group's unfinished run who has moved into groups[0] since: the
  // batch must not claim or stream them.
  const std::string elsewhere = add_group(*sql_, domain_, 30);
  const std::int64_t moved = add_user(*sql_, elsewhere);
  repo_->claim(claim_request(domain_, elsewhere, kSlot, "other", 903));
  sql_->exec("UPDATE users SET group_id = $1 WHERE id = $2", {groups[0], std::to_string(moved)});

  std::vector<ExportRun> runs = repo_->claim_batch(batch(groups, 100));
  ASSERT_EQ(runs.size(), 5u);
  // Committed after the claim: newcomers in every group, and one claimed user marked.
  for (const std::string& group : groups) add_user(*sql_, group);
  sql_->exec("UPDATE users SET sent_to_matching_service = true WHERE id = $1",
             {std::to_string(claimed(runs[2].run_id).front())});

  RecordingBatchHandler from_snapshot;
  repo_->stream_batch(run_ids(runs), {"id", "group_id"}, from_snapshot);
  // A repository that did not claim the batch has no snapshot: it reads the claims.
  PostgresRepository other(db_->url(), clock_);
  RecordingBatchHandler from_claims;
  other.stream_batch(run_ids(runs), {"id", "group_id"}, from_claims);

  for (const RecordingBatchHandler* handler : {&from_snapshot, &from_claims}) {
    EXPECT_EQ(handler->began, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
    ASSERT_EQ(handler->ids.size(), runs.size());
    for (std::size_t r = 0; r < runs.size(); ++r) {
      EXPECT_EQ(handler->ids[r], claimed(runs[r].run_id)) << "run " << r;
      EXPECT_EQ(static_cast<std::int64_t>(handler->ids[r].size()), runs[r].item_count);
    }
    EXPECT_EQ(handler->groups.size(), runs.size());
  }
  for (const auto& ids : from_snapshot.ids) {
    EXPECT_EQ(std::count(ids.begin(), ids.end(), moved), 0);
  }
}

TEST_F(PostgresBatchTest, CommitMarksExactlyTheClaimedUsersAndLeavesARunWithALostLeaseUntouched) {
  const std::string a = add_group(*sql_, domain_, 1);
  const std::string b = add_group(*sql_, domain_, 2);
  const std::string c = add_group(*sql_, domain_, 3);
  const std::string d = add_group(*sql_, domain_, 4);
  for (const std::string& group : {a, b, c}) add_users(*sql_, group, 4);
  std::vector<ExportRun> runs = repo_->claim_batch(batch({a, b, c}, 100));
  ASSERT_EQ(runs.size(), 3u);
  std::map<std::string, ExportRun> run_of;
  for (const ExportRun& run : runs) run_of[run.group_id.str()] = run;
  const std::int64_t newcomer = add_user(*sql_, a);
  const std::int64_t moved = claimed(run_of[b].run_id).back();
  sql_->exec("UPDATE users SET group_id = $1 WHERE id = $2", {d, std::to_string(moved)});
  sql_->exec("UPDATE export_runs SET lease_owner = 'other' WHERE run_id = $1",
             {run_of[c].run_id.str()});

  std::vector<CommitRequest> commits;
  for (const std::string& group : {a, b, c}) {
    CommitRequest commit{run_of[group].run_id, OwnerId("me"), 1, true, std::nullopt, {}};
    commit.messages.push_back(OutboundMessage{});
    commit.messages.back().topic = "t";
    commit.messages.back().key = group;
    commit.messages.back().payload = "{}";
    commits.push_back(commit);
  }
  std::vector<std::optional<Error>> outcomes = repo_->commit_batch(commits);

  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0]);
  EXPECT_FALSE(outcomes[1]);
  ASSERT_TRUE(outcomes[2]);
  EXPECT_EQ(outcomes[2]->code(), ErrorCode::kLeaseLost);
  EXPECT_NE(std::string(outcomes[2]->what()).find("other"), std::string::npos)
      << outcomes[2]->what();
  for (const std::string& group : {a, b}) {
    EXPECT_EQ(scalar("SELECT count(*) FROM export_run_items i JOIN users u ON u.id = i.user_id "
                     "WHERE i.run_id = $1 AND u.sent_to_matching_service",
                     {run_of[group].run_id.str()}),
              "4")
        << group;
    EXPECT_EQ(
        scalar("SELECT state FROM export_runs WHERE run_id = $1", {run_of[group].run_id.str()}),
        "committed");
  }
  EXPECT_EQ(scalar("SELECT sent_to_matching_service::text FROM users WHERE id = $1",
                   {std::to_string(moved)}),
            "true")
      << "a claimed user who moved group is marked too";
  EXPECT_EQ(scalar("SELECT sent_to_matching_service::text FROM users WHERE id = $1",
                   {std::to_string(newcomer)}),
            "false")
      << "a user added after the claim is left for the next run";
  EXPECT_EQ(
      scalar("SELECT count(*) FROM users WHERE group_id = $1 AND sent_to_matching_service", {c}),
      "0");
  EXPECT_EQ(scalar("SELECT state FROM export_runs WHERE run_id = $1", {run_of[c].run_id.str()}),
            "claimed");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "2");
}

TEST_F(PostgresBatchTest, BatchAndOneGroupClaimsRacingNeverClaimAUserTwice) {
  std::vector<std::string> groups;
  for (int g = 0; g < 12; ++g) {
    groups.push_back(add_group(*sql_, domain_, 40 + g));
    add_users(*sql_, groups.back(), 30);
  }
  // One instance claims them all in batches; another, group by group, in reverse order.
  auto batches = std::async(std::launch::async, [&] {
    PostgresRepository repo(db_->url(), clock_);
    for (int round = 0; round < 3; ++round) repo.claim_batch(batch(groups, 100, "batcher"));
  });
  auto singles = std::async(std::launch::async, [&] {
    PostgresRepository repo(db_->url(), clock_);
    for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
      try {
        repo.claim(claim_request(domain_, *it, kSlot, "single", 1000 + (it - groups.rbegin())));
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kLeaseLost) << e.what();
      }
    }
  });
  batches.get();
  singles.get();
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT user_id FROM export_run_items "
                   "GROUP BY user_id HAVING count(*) > 1) AS twice"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_run_items"), "360") << "every user claimed once";
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs"), "12") << "one run per group";
}

}  // namespace
}  // namespace user_export::pg
