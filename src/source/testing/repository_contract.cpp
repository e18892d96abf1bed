#include "source/testing/repository_contract.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "source/synthetic_data.hpp"

namespace user_export::contract {

using std::chrono::seconds;

int prune_contract_anchor();         // prune_contract.cpp
int staged_parts_contract_anchor();  // staged_parts_contract.cpp
int run_actions_contract_anchor();   // run_actions_contract.cpp
int inspection_contract_anchor();    // inspection_contract.cpp

int repository_contract_anchor() {
  // Links the retention, staged-part, operator-action and inspection tests wherever the
  // contract is linked.
  return prune_contract_anchor() + staged_parts_contract_anchor() + run_actions_contract_anchor() +
         inspection_contract_anchor();
}

void PrintTo(const ContractBackend& backend, std::ostream* os) {
  *os << backend.name;
}

std::string contract_backend_name(const ::testing::TestParamInfo<ContractBackend>& info) {
  return info.param.name;
}

// ---- fixture ----

void RepositoryContract::SetUp() {
  db_ = GetParam().make();
  if (!db_) GTEST_SKIP() << GetParam().name << " backend is not available here";
  repo_ = db_->open(clock_);
  repo_->migrate();
  domain_ = uuid(1, 1);
}

std::string RepositoryContract::uuid(int kind, std::uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", 0xa0000000u + unsigned(kind),
                static_cast<unsigned long long>(n));
  return buf;
}

std::string RepositoryContract::quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string RepositoryContract::add_group(const std::string& domain, const std::string& type,
                                          bool active) {
  std::string id = uuid(2, next_id_++);
  db_->exec(
      "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
      "VALUES (" +
      quote(id) + ", " + quote(domain) + ", 'group " + id + "', " + quote(type) + ", " +
      (active ? "true" : "false") + ", '2025-01-01 00:00:00')");
  return id;
}

std::int64_t RepositoryContract::add_user(const std::string& group, bool sent) {
  const std::uint64_t n = next_id_++;
  const std::string ref = uuid(3, n);
  db_->exec(
      "INSERT INTO users (ref_id, username, email, phone, group_id, "
      "sent_to_matching_service, created_at) VALUES (" +
      quote(ref) + ", 'user" + std::to_string(n) + "', 'user" + std::to_string(n) +
      "@example.com', '+4915100000" + std::to_string(n % 10) + "', " + quote(group) + ", " +
      (sent ? "true" : "false") + ", '2025-03-04 05:06:07')");
  return std::stoll(*db_->query_one("SELECT id FROM users WHERE ref_id = " + quote(ref)));
}

bool RepositoryContract::is_sent(std::int64_t user_id) {
  return count("SELECT count(*) FROM users WHERE id = " + std::to_string(user_id) +
               " AND sent_to_matching_service") == 1;
}

int RepositoryContract::sent_among(const std::vector<std::int64_t>& ids) {
  int n = 0;
  for (auto id : ids) n += is_sent(id) ? 1 : 0;
  return n;
}

std::int64_t RepositoryContract::count(const std::string& sql) {
  return std::stoll(db_->query_one(sql).value_or("-1"));
}

ClaimRequest RepositoryContract::claim_request(const std::string& group, Slot slot,
                                               const std::string& owner) {
  ClaimRequest request;
  request.group_id = GroupId::parse(group);
  request.domain_id = DomainId::parse(domain_);
  request.slot = slot;
  request.owner = owner;
  request.lease = seconds{300};
  request.new_run_id = uuid(4, next_id_++);
  return request;
}

std::vector<std::int64_t> RepositoryContract::streamed_ids(const std::string& run_id) {
  struct Collect : RowHandler {
    std::vector<std::int64_t> ids;
    void on_row(RowView row) override { ids.push_back(std::stoll(std::string(*row[0]))); }
  } collect;
  repo_->stream_rows(run_id, {"id"}, collect);
  return collect.ids;
}

OutboundMessage RepositoryContract::message(const std::string& run_id, const std::string& payload) {
  OutboundMessage m;
  m.run_id = run_id;
  m.topic = "flairbit-users";
  m.key = "key-" + payload;
  m.payload = payload;
  m.headers = {{"runId", run_id}, {"schemaVersion", "1.0"}, {"note", "Zoë, \"quoted\""}};
  return m;
}

void RepositoryContract::commit_run(const std::string& run_id, const std::string& owner,
                                    std::vector<OutboundMessage> messages, bool mark_sent) {
  CommitRequest request;
  request.run_id = run_id;
  request.owner = owner;
  request.attempt = repo_->find_run(run_id)->attempts;  // the latest claim's token
  request.mark_sent = mark_sent;
  request.messages = std::move(messages);
  repo_->commit(request);
}

ExportRun RepositoryContract::committed_run(const std::vector<std::string>& payloads) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  std::vector<OutboundMessage> messages;
  for (const std::string& payload : payloads) messages.push_back(message(run.run_id, payload));
  commit_run(run.run_id, "x", std::move(messages));
  return run;
}

namespace {

/// Collects every streamed row as owned strings.
struct RowCollector : RowHandler {
  std::vector<std::vector<std::optional<std::string>>> rows;
  void on_row(RowView row) override {
    auto& out = rows.emplace_back();
    for (const auto& value : row) {
      out.push_back(value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
    }
  }
};

}  // namespace

// ---- schema ----

TEST_P(RepositoryContract, SchemaVersionIsZeroBeforeMigrateAndStableAfterSecondMigrate) {
  auto fresh = GetParam().make();
  auto repo = fresh->open(clock_);
  EXPECT_EQ(repo->schema_version(), 0);
  repo->migrate();
  const int version = repo->schema_version();
  EXPECT_GT(version, 0);
  repo->migrate();
  EXPECT_EQ(repo->schema_version(), version);
  EXPECT_EQ(count("SELECT count(*) FROM schema_version"), version);
}

TEST_P(RepositoryContract, TwoRepositoriesMigratingAtOnceBothSucceed) {
  auto fresh = GetParam().make();
  std::vector<std::unique_ptr<Repository>> repos;
  for (int i = 0; i < 3; ++i) repos.push_back(fresh->open(clock_));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto& repo : repos) {
    threads.emplace_back([&repo, &failures] {
      try {
        repo->migrate();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "concurrent migrate failed: " << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(repos[0]->schema_version(), repo_->schema_version());
  EXPECT_EQ(std::stoll(*fresh->query_one("SELECT count(*) FROM schema_version")),
            repo_->schema_version());
}

// ---- groups ----

TEST_P(RepositoryContract, ActiveGroupsFiltersByDomainAndActiveAndKeepsUnknownTypes) {
  const std::string other_domain = uuid(1, 2);
  const std::string cost = add_group(domain_, "COST_BASED");
  const std::string inactive = add_group(domain_, "COST_BASED", false);
  const std::string odd = add_group(domain_, "PREMIUM_TIER");
  const std::string non_cost = add_group(domain_, "NON_COST_BASED");
  add_group(other_domain, "COST_BASED");

  const auto groups = repo_->active_groups(DomainId::parse(domain_));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].id.str(), cost);  // ids ascend with creation in this fixture
  EXPECT_EQ(groups[1].id.str(), odd);
  EXPECT_EQ(groups[1].type_name, "PREMIUM_TIER");
  EXPECT_THROW(groups[1].type(), Error);
  EXPECT_EQ(groups[2].id.str(), non_cost);
  EXPECT_EQ(groups[2].type(), GroupType::kNonCostBased);
  for (const auto& g : groups) {
    EXPECT_EQ(g.domain_id.str(), domain_);
    EXPECT_TRUE(g.active);
    EXPECT_NE(g.id.str(), inactive);
  }
  EXPECT_TRUE(repo_->active_groups(DomainId::parse(uuid(1, 99))).empty());
}

TEST_P(RepositoryContract, FindGroupReturnsInactiveGroupsAndNulloptForUnknownIds) {
  const std::string inactive = add_group(domain_, "NON_COST_BASED", false);
  auto found = repo_->find_group(GroupId::parse(inactive));
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->active);
  EXPECT_EQ(found->type_name, "NON_COST_BASED");
  EXPECT_EQ(found->name, "group " + inactive);
  EXPECT_FALSE(repo_->find_group(GroupId::parse(uuid(2, 999))));
}

// ---- claim ----

TEST_P(RepositoryContract, ClaimRecordsExactlyTheUnsentUsersOfTheGroup) {
  const std::string group = add_group(domain_);
  const std::string other = add_group(domain_);
  const auto u1 = add_user(group);
  add_user(group, /*sent=*/true);
  const auto u3 = add_user(group);
  add_user(other);

  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.state, RunState::kClaimed);
  EXPECT_EQ(run.item_count, 2);
  EXPECT_EQ(run.attempts, 1);
  EXPECT_FALSE(run.resumed);
  EXPECT_EQ(run.lease_owner, "a");
  EXPECT_EQ(run.lease_expires_at, clock_.now() + seconds{300});
  EXPECT_EQ(run.slot, slot1_);
  EXPECT_EQ(streamed_ids(run.run_id), (std::vector<std::int64_t>{u1, u3}));
  EXPECT_EQ(count("SELECT count(*) FROM export_run_items WHERE run_id = " + quote(run.run_id)), 2);
  auto stored = repo_->find_run(run.run_id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->item_count, 2);
  EXPECT_EQ(stored->group_id.str(), group);
  EXPECT_EQ(stored->domain_id.str(), domain_);
  EXPECT_EQ(stored->slot, slot1_);
  EXPECT_EQ(stored->lease_owner, "a");
}

TEST_P(RepositoryContract, UserInsertedAfterClaimIsNeitherStreamedNorMarkedButClaimedNext) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  const auto late = add_user(group);

  EXPECT_EQ(streamed_ids(run.run_id), (std::vector<std::int64_t>{u1, u2}));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_TRUE(is_sent(u1));
  EXPECT_TRUE(is_sent(u2));
  EXPECT_FALSE(is_sent(late));

  const ExportRun next = repo_->claim(claim_request(group, slot2_, "a"));
  EXPECT_NE(next.run_id, run.run_id);
  EXPECT_EQ(next.item_count, 1);
  EXPECT_EQ(streamed_ids(next.run_id), (std::vector<std::int64_t>{late}));
}

TEST_P(RepositoryContract, UserClaimedByAnUnfinishedRunIsNotClaimedByAnotherGroupsRun) {
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  const auto moved = add_user(a);
  const auto stays = add_user(a);
  const auto in_b = add_user(b);
  const ExportRun run_a = repo_->claim(claim_request(a, slot1_, "x"));
  db_->exec("UPDATE users SET group_id = " + quote(b) + " WHERE id = " + std::to_string(moved));

  const ExportRun run_b = repo_->claim(claim_request(b, slot1_, "x"));
  EXPECT_EQ(streamed_ids(run_b.run_id), (std::vector<std::int64_t>{in_b}));
  EXPECT_EQ(streamed_ids(run_a.run_id), (std::vector<std::int64_t>{moved, stays}));
}

TEST_P(RepositoryContract, ClaimOfAFinishedSlotReturnsTheFinishedRunUnchanged) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});

  const ExportRun again = repo_->claim(claim_request(group, slot1_, "b"));
  EXPECT_EQ(again.run_id, run.run_id);
  EXPECT_EQ(again.state, RunState::kCommitted);
  EXPECT_FALSE(again.resumed);
  EXPECT_EQ(again.attempts, 1);
  EXPECT_EQ(again.item_count, 1);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
}

TEST_P(RepositoryContract, ResumeAfterFailedAttemptKeepsRunIdSlotAndItems) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->record_failure(first.run_id, "a", first.attempts, "upload failed: 503");
  auto failed = repo_->find_run(first.run_id);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->last_error, "upload failed: 503");
  EXPECT_EQ(failed->lease_owner, "");
  add_user(group);  // arrives between the attempts

  clock_.advance(seconds{10});
  const ExportRun resumed = repo_->claim(claim_request(group, slot2_, "b"));
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.run_id, first.run_id);
  EXPECT_EQ(resumed.slot, slot1_);
  EXPECT_EQ(resumed.attempts, 2);
  EXPECT_EQ(resumed.item_count, 2);
  EXPECT_EQ(resumed.state, RunState::kClaimed);
  EXPECT_EQ(resumed.lease_owner, "b");
  EXPECT_EQ(resumed.lease_expires_at, clock_.now() + seconds{300});
  EXPECT_EQ(streamed_ids(resumed.run_id), (std::vector<std::int64_t>{u1, u2}));
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
  EXPECT_EQ(repo_->find_run(first.run_id)->attempts, 2);
}

TEST_P(RepositoryContract, OwnerReclaimingItsLiveRunResumesIt) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  const ExportRun again = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.run_id, first.run_id);
  EXPECT_EQ(again.attempts, 2);
}

TEST_P(RepositoryContract, ClaimWhileAnotherOwnerHoldsALiveLeaseIsLeaseLost) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{299});
  EXPECT_EQ(error_code_of([&] { repo_->claim(claim_request(group, slot2_, "b")); }),
            ErrorCode::kLeaseLost);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->lease_owner, "a");
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 1);
}

TEST_P(RepositoryContract, LiveLeaseOfADeadOwnerIsTakenOverAndTheDeadOwnerIsFenced) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "crashed"));
  ClaimRequest request = claim_request(group, slot2_, "restarted");
  std::vector<std::string> asked;
  request.owner_is_dead = [&](const std::string& owner) {
    asked.push_back(owner);
    return owner == "crashed";
  };
  const ExportRun taken = repo_->claim(request);  // lease still live: no time has passed
  EXPECT_EQ(asked, std::vector<std::string>{"crashed"});
  EXPECT_TRUE(taken.resumed);
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.lease_owner, "restarted");
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "crashed", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  // An owner the predicate says is alive keeps its lease.
  ClaimRequest other = claim_request(group, slot2_, "third");
  other.owner_is_dead = [](const std::string&) { return false; };
  EXPECT_EQ(error_code_of([&] { repo_->claim(other); }), ErrorCode::kLeaseLost);
}

TEST_P(RepositoryContract, ExpiredLeaseIsTakenOverAndTheOldOwnerIsFenced) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{301});

  const ExportRun taken = repo_->claim(claim_request(group, slot2_, "b"));
  EXPECT_TRUE(taken.resumed);
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.lease_owner, "b");
  EXPECT_EQ(taken.attempts, 2);

  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "a", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(error_code_of([&] { repo_->heartbeat(run.run_id, "a", run.attempts, seconds{300}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(error_code_of([&] { repo_->record_failure(run.run_id, "a", run.attempts, "late"); }),
            ErrorCode::kLeaseLost);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_EQ(repo_->find_run(run.run_id)->lease_owner, "b");
  EXPECT_EQ(repo_->find_run(run.run_id)->last_error, "");

  commit_run(run.run_id, "b", {message(run.run_id, "m")});
  EXPECT_TRUE(is_sent(u1));
}

TEST_P(RepositoryContract, CommitWithExpiredLeaseIsLeaseLostAndChangesNothing) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{300});  // expiry is exclusive: at now == expires the lease is gone

  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = "a";
  request.attempt = run.attempts;
  ExportedFile file;
  file.object_key = "k.csv.gz";
  file.rows = 2;
  request.file = file;
  request.messages = {message(run.run_id, "m1"), message(run.run_id, "m2")};
  EXPECT_EQ(error_code_of([&] { repo_->commit(request); }), ErrorCode::kLeaseLost);
  EXPECT_EQ(sent_among({u1, u2}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->state, RunState::kClaimed);
  EXPECT_EQ(stored->object_key, "");
  EXPECT_EQ(error_code_of([&] { repo_->heartbeat(run.run_id, "a", run.attempts, seconds{300}); }),
            ErrorCode::kLeaseLost);
}

TEST_P(RepositoryContract, CommitByAnotherOwnerIsLeaseLost) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "intruder", {}); }), ErrorCode::kLeaseLost);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
}

TEST_P(RepositoryContract, CommitTwiceIsLeaseLostTheSecondTime) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_EQ(error_code_of([&] { commit_run(run.run_id, "a", {message(run.run_id, "m")}); }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 1);
}

TEST_P(RepositoryContract, HeartbeatExtendsTheLease) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  clock_.advance(seconds{200});
  repo_->heartbeat(run.run_id, "a", run.attempts, seconds{300});
  EXPECT_EQ(repo_->find_run(run.run_id)->lease_expires_at, clock_.now() + seconds{300});
  clock_.advance(seconds{200});  // 400 s after the claim: alive only thanks to the heartbeat
  EXPECT_EQ(error_code_of([&] { repo_->claim(claim_request(group, slot2_, "b")); }),
            ErrorCode::kLeaseLost);
  commit_run(run.run_id, "a", {});
  EXPECT_TRUE(is_sent(u1));
}

TEST_P(RepositoryContract, CommitMarksExactlyTheClaimedUsersAndQueuesMessagesInOrder) {
  const std::string group = add_group(domain_);
  const std::string other = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const auto elsewhere = add_user(other);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  const auto late = add_user(group);

  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = "a";
  request.attempt = run.attempts;
  ExportedFile file;
  file.object_key = "exports/d/g/2026-01-01T0000Z/" + run.run_id + ".csv.gz";
  file.rows = 2;
  file.bytes = 1234;
  file.sha256 = std::string(64, 'a');
  request.file = file;
  request.messages = {message(run.run_id, "{\"part\":1}"), message(run.run_id, "{\"part\":2}"),
                      message(run.run_id, "{\"part\":3,\"city\":\"東京\"}")};
  repo_->commit(request);

  EXPECT_TRUE(is_sent(u1));
  EXPECT_TRUE(is_sent(u2));
  EXPECT_FALSE(is_sent(elsewhere));
  EXPECT_FALSE(is_sent(late));

  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->state, RunState::kCommitted);
  EXPECT_EQ(stored->object_key, file.object_key);
  EXPECT_EQ(stored->rows, 2);
  EXPECT_EQ(stored->bytes, 1234);
  EXPECT_EQ(stored->sha256, file.sha256);

  EXPECT_EQ(repo_->pending_count(), 3);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    EXPECT_GT(pending[i].outbox_id, 0);
    if (i > 0) {
      EXPECT_GT(pending[i].outbox_id, pending[i - 1].outbox_id);
    }
    EXPECT_EQ(pending[i].run_id, run.run_id);
    EXPECT_EQ(pending[i].topic, "flairbit-users");
    EXPECT_EQ(pending[i].payload, request.messages[i].payload);
    EXPECT_EQ(pending[i].key, request.messages[i].key);
    EXPECT_EQ(pending[i].headers, request.messages[i].headers);
    EXPECT_EQ(pending[i].attempts, 0);
  }
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE run_id = " + quote(run.run_id) +
                  " AND state = 'pending'"),
            3);
  EXPECT_EQ(repo_->pending_messages(2).size(), 2u);
}

TEST_P(RepositoryContract, CommitWithoutMarkSentMarksNobodyAndTheUsersAreClaimedAgain) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m")}, /*mark_sent=*/false);
  EXPECT_EQ(sent_among({u1, u2}), 0);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);

  const ExportRun next = repo_->claim(claim_request(group, slot2_, "a"));
  EXPECT_EQ(streamed_ids(next.run_id), (std::vector<std::int64_t>{u1, u2}));
}

TEST_P(RepositoryContract, CommitWithoutMessagesCompletesTheRun) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {});
  EXPECT_TRUE(is_sent(u1));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
}

// ---- fencing: one writer per run ----

TEST_P(RepositoryContract, ATakeoverByTheSameOwnerFencesTheEarlierAttempt) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  // The same owner claims again (two workers of one process): a new attempt, a new token.
  const ExportRun second = repo_->claim(claim_request(group, slot1_, "a"));
  ASSERT_TRUE(second.resumed);
  EXPECT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(second.attempts, first.attempts + 1);

  CommitRequest stale;
  stale.run_id = first.run_id;
  stale.owner = "a";
  stale.attempt = first.attempts;
  stale.messages = {message(first.run_id, "stale")};
  EXPECT_EQ(error_code_of([&] { repo_->commit(stale); }), ErrorCode::kLeaseLost);
  EXPECT_EQ(
      error_code_of([&] { repo_->heartbeat(first.run_id, "a", first.attempts, seconds{300}); }),
      ErrorCode::kLeaseLost);
  EXPECT_EQ(
      error_code_of([&] { repo_->record_failure(first.run_id, "a", first.attempts, "late"); }),
      ErrorCode::kLeaseLost);
  try {
    repo_->commit(stale);
    ADD_FAILURE() << "a commit with a stale token went through";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("claimed again"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);

  repo_->heartbeat(second.run_id, "a", second.attempts, seconds{300});
  CommitRequest current = stale;
  current.attempt = second.attempts;
  current.messages = {message(second.run_id, "current")};
  repo_->commit(current);
  EXPECT_TRUE(is_sent(u1));
  EXPECT_EQ(*db_->query_one("SELECT payload FROM export_outbox"), "current");
}

TEST_P(RepositoryContract, CompleteEmptyNeedsTheLatestToken) {
  const std::string group = add_group(domain_);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  ASSERT_EQ(first.item_count, 0);
  db_->exec("UPDATE export_runs SET attempts = attempts + 1 WHERE run_id = " +
            quote(first.run_id));  // as a takeover would
  EXPECT_EQ(error_code_of([&] { repo_->complete_empty(first.run_id, "a", first.attempts); }),
            ErrorCode::kLeaseLost);
  repo_->complete_empty(first.run_id, "a", first.attempts + 1);
  EXPECT_EQ(repo_->find_run(first.run_id)->state, RunState::kEmpty);
}

TEST_P(RepositoryContract, AGroupIdStoredInUpperCaseIsTheSameGroup) {
  const std::string group = uuid(2, next_id_++);
  std::string upper = group;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  db_->exec(
      "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
      "VALUES (" +
      quote(upper) + ", " + quote(domain_) + ", 'upper', 'COST_BASED', true, " +
      "'2025-01-01 00:00:00')");
  const auto u1 = add_user(upper);
  const auto u2 = add_user(group);  // the same group written in lower case by another program

  const auto groups = repo_->active_groups(DomainId::parse(domain_));
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].id.str(), group);
  ASSERT_TRUE(repo_->find_group(GroupId::parse(group)));

  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.item_count, 2);
  commit_run(run.run_id, "a", {message(run.run_id, "m")});
  EXPECT_EQ(sent_among({u1, u2}), 2);
}

TEST_P(RepositoryContract, AOneShotClaimInAFinishedSlotTakesTheLatestEarlierFreeSecond) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(first.run_id, "a", {});
  const auto u2 = add_user(group);

  // The service's rule: one run per group and scheduled slot.
  const ExportRun scheduled = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(scheduled.run_id, first.run_id);
  EXPECT_NE(scheduled.state, RunState::kClaimed);

  ClaimRequest once = claim_request(group, slot1_, "a");
  once.once_per_slot = false;
  const ExportRun again = repo_->claim(once);
  EXPECT_NE(again.run_id, first.run_id);
  EXPECT_EQ(again.state, RunState::kClaimed);
  EXPECT_EQ(again.item_count, 1);
  EXPECT_EQ(again.slot, slot1_ - seconds{1});
  EXPECT_EQ(streamed_ids(again.run_id), std::vector<std::int64_t>{u2});
  commit_run(again.run_id, "a", {});

  add_user(group);
  ClaimRequest third = claim_request(group, slot1_, "a");
  third.once_per_slot = false;
  EXPECT_EQ(repo_->claim(third).slot, slot1_ - seconds{2});
}

// ---- outbox ----

TEST_P(RepositoryContract, FailedDeliveryIsNotDueBeforeItsNextAttempt) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a", {message(run.run_id, "m1"), message(run.run_id, "m2")});
  const auto first = repo_->pending_messages(10).at(0);

  repo_->record_publish_failure(first.outbox_id, "broker timeout", clock_.now() + seconds{60});
  auto due = repo_->pending_messages(10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].payload, "m2");
  EXPECT_EQ(repo_->pending_count(), 2);
  EXPECT_EQ(*db_->query_one("SELECT last_error FROM export_outbox WHERE id = " +
                            std::to_string(first.outbox_id)),
            "broker timeout");

  clock_.advance(seconds{59});
  EXPECT_EQ(repo_->pending_messages(10).size(), 1u);
  clock_.advance(seconds{1});
  due = repo_->pending_messages(10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].outbox_id, first.outbox_id);
  EXPECT_EQ(due[0].attempts, 1);
  EXPECT_EQ(due[1].attempts, 0);
}

TEST_P(RepositoryContract, RunCompletesWhenItsLastPendingMessageIsPublishedOrDeadLettered) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  commit_run(run.run_id, "a",
             {message(run.run_id, "m1"), message(run.run_id, "m2"), message(run.run_id, "m3")});
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);

  repo_->mark_published(pending[0].outbox_id);
  repo_->mark_dead_lettered(pending[1].outbox_id, "message too large");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 1);
  const auto id1 = std::to_string(pending[1].outbox_id);
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " + id1), "dead_lettered");
  EXPECT_EQ(*db_->query_one("SELECT last_error FROM export_outbox WHERE id = " + id1),
            "message too large");
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " +
                            std::to_string(pending[0].outbox_id)),
            "published");

  repo_->mark_published(pending[2].outbox_id);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_TRUE(repo_->pending_messages(10).empty());

  // A relay repeating itself after a crash changes nothing.
  repo_->mark_published(pending[0].outbox_id);
  repo_->mark_dead_lettered(pending[0].outbox_id, "late");
  EXPECT_EQ(*db_->query_one("SELECT state FROM export_outbox WHERE id = " +
                            std::to_string(pending[0].outbox_id)),
            "published");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
}

TEST_P(RepositoryContract, MarkAllPublishedCompletesEveryRunWhoseLastMessageIsAmongThem) {
  const ExportRun ra = committed_run({"a1", "a2"});
  const ExportRun rb = committed_run({"b1", "b2"});
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 4u);
  repo_->mark_published(pending[0].outbox_id);

  // a1 again (no longer pending), a2 (a's last), b1 (b keeps b2 pending).
  const std::vector<std::int64_t> ids = {pending[0].outbox_id, pending[1].outbox_id,
                                         pending[2].outbox_id};
  repo_->mark_all_published(ids);
  EXPECT_EQ(repo_->find_run(ra.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(*db_->query_one("SELECT count(*) FROM export_outbox WHERE state = 'published'"), "3");

  // An unknown id among them marks none.
  const std::vector<std::int64_t> with_unknown = {pending[3].outbox_id, 987654};
  EXPECT_THROW(repo_->mark_all_published(with_unknown), Error);
  EXPECT_EQ(repo_->pending_count(), 1);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCommitted);
  repo_->mark_all_published({});
  repo_->mark_all_published(std::vector<std::int64_t>{pending[3].outbox_id});
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
}

TEST_P(RepositoryContract, ClaimedUsersRemainingLeavesOutUsersDeletedSinceTheClaim) {
  const std::string group = add_group(domain_);
  const std::int64_t kept = add_user(group);
  const std::int64_t deleted = add_user(group);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  ASSERT_EQ(run.item_count, 3);
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 3);
  db_->exec("DELETE FROM profiles WHERE user_id = " + std::to_string(deleted));
  db_->exec("DELETE FROM users WHERE id = " + std::to_string(deleted));
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 2);
  // A user that moved to another group stays claimed by this run.
  const std::string other = add_group(domain_);
  db_->exec("UPDATE users SET group_id = " + quote(other) + " WHERE id = " + std::to_string(kept));
  EXPECT_EQ(repo_->claimed_users_remaining(run.run_id), 2);
  EXPECT_EQ(repo_->claimed_users_remaining(uuid(4, 999)), 0);
}

TEST_P(RepositoryContract, UnknownOutboxIdIsAnError) {
  EXPECT_THROW(repo_->mark_published(987654), Error);
  EXPECT_THROW(repo_->mark_dead_lettered(987654, "x"), Error);
  EXPECT_THROW(repo_->record_publish_failure(987654, "x", clock_.now()), Error);
}

TEST_P(RepositoryContract, PendingCountCoversEveryRun) {
  const ExportRun ra = committed_run({"a1", "a2"});
  const ExportRun rb = committed_run({"b1"});
  EXPECT_EQ(repo_->pending_count(), 3);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].payload, "a1");
  EXPECT_EQ(pending[2].payload, "b1");
  repo_->mark_published(pending[2].outbox_id);
  EXPECT_EQ(repo_->find_run(rb.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->find_run(ra.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(repo_->pending_count(), 2);
}

// ---- outbox claims (several relays sharing one outbox) ----

namespace {

/// The payloads of `messages`, in order.
std::vector<std::string> payloads_of(const std::vector<OutboundMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.payload);
  return out;
}

}  // namespace

TEST_P(RepositoryContract, ClaimMessagesGivesEachMessageToOneOwnerOldestFirstWithinTheLimit) {
  const ExportRun ra = committed_run({"m1", "m2", "m3"});
  committed_run({"m4", "m5"});

  const auto a = repo_->claim_messages(2, "relay-a", seconds{60});
  EXPECT_EQ(payloads_of(a), (std::vector<std::string>{"m1", "m2"}));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_LT(a[0].outbox_id, a[1].outbox_id);
  EXPECT_EQ(a[0].run_id, ra.run_id);
  EXPECT_EQ(a[0].topic, "flairbit-users");
  EXPECT_EQ(a[0].key, "key-m1");
  EXPECT_EQ(a[0].headers, message(ra.run_id, "m1").headers);
  EXPECT_EQ(a[0].attempts, 0);

  const auto b = repo_->claim_messages(10, "relay-b", seconds{60});
  EXPECT_EQ(payloads_of(b), (std::vector<std::string>{"m3", "m4", "m5"}));
  EXPECT_TRUE(repo_->claim_messages(10, "relay-a", seconds{60}).empty());
  EXPECT_TRUE(repo_->claim_messages(10, "relay-c", seconds{60}).empty());
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-a'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-b'"), 3);

  // Claims do not change what is pending; the listing still shows every due message.
  EXPECT_EQ(repo_->pending_count(), 5);
  EXPECT_EQ(repo_->pending_messages(10).size(), 5u);
}

// A relay pass holds at most max_bytes of payloads (or one message, whatever its size): the
// claim stops before the first message that would take it past the bound, and the rest stay
// claimable in order. Payload sizes are counted in bytes, not characters.
TEST_P(RepositoryContract, ClaimMessagesStopsAtTheByteBoundButAlwaysTakesOne) {
  const std::string big(5000, 'x');
  const std::string utf8 = std::string(100, 'y') + "\xC3\xA9";  // 102 bytes, 101 characters
  committed_run({big, "m2", "m3"});
  committed_run({utf8, "m5"});

  const auto first = repo_->claim_messages(10, "relay-a", seconds{60}, 100);
  EXPECT_EQ(payloads_of(first), (std::vector<std::string>{big})) << "the oldest, though too big";
  const auto second = repo_->claim_messages(10, "relay-a", seconds{60}, 4);
  EXPECT_EQ(payloads_of(second), (std::vector<std::string>{"m2", "m3"})) << "2 + 2 bytes fit";
  const auto third = repo_->claim_messages(10, "relay-a", seconds{60}, 103);
  EXPECT_EQ(payloads_of(third), (std::vector<std::string>{utf8})) << "102 + 2 bytes > 103";
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, "relay-a", seconds{60}, 104)),
            (std::vector<std::string>{"m5"}));
}

TEST_P(RepositoryContract, LiveClaimHidesAMessageFromEveryOwnerUntilItRunsOut) {
  committed_run({"m1", "m2"});
  ASSERT_EQ(repo_->claim_messages(10, "relay-a", seconds{60}).size(), 2u);

  clock_.advance(seconds{59});
  EXPECT_TRUE(repo_->claim_messages(10, "relay-b", seconds{60}).empty());
  // Not even for its own owner name: two relays configured with one name must not share it.
  EXPECT_TRUE(repo_->claim_messages(10, "relay-a", seconds{60}).empty());

  // The claim ran out (its relay died): any relay may take the messages, for a new lease.
  clock_.advance(seconds{1});
  const auto taken = repo_->claim_messages(10, "relay-b", seconds{30});
  EXPECT_EQ(payloads_of(taken), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-b'"), 2);
  clock_.advance(seconds{29});
  EXPECT_TRUE(repo_->claim_messages(10, "relay-a", seconds{60}).empty());
  clock_.advance(seconds{1});
  EXPECT_EQ(repo_->claim_messages(10, "relay-a", seconds{60}).size(), 2u);
}

TEST_P(RepositoryContract, PublishAndDeadLetterEndTheClaimAndAFailureReleasesIt) {
  const ExportRun run = committed_run({"m1", "m2", "m3"});
  const auto claimed = repo_->claim_messages(10, "relay-a", seconds{300});
  ASSERT_EQ(claimed.size(), 3u);

  repo_->mark_published(claimed[0].outbox_id);
  repo_->mark_dead_lettered(claimed[1].outbox_id, "message too large");
  repo_->record_publish_failure(claimed[2].outbox_id, "broker timeout", clock_.now() + seconds{10});
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NOT NULL OR "
                  "claim_expires_at IS NOT NULL"),
            0);

  // The failed message is due again at its next attempt, for any relay, long before the
  // released claim would have run out; the finished ones never come back.
  EXPECT_TRUE(repo_->claim_messages(10, "relay-b", seconds{300}).empty());
  clock_.advance(seconds{10});
  const auto retried = repo_->claim_messages(10, "relay-b", seconds{300});
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].payload, "m3");
  EXPECT_EQ(retried[0].attempts, 1);
  clock_.advance(seconds{600});
  repo_->mark_all_published(std::vector<std::int64_t>{retried[0].outbox_id});
  EXPECT_TRUE(repo_->claim_messages(10, "relay-c", seconds{300}).empty());
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
}

TEST_P(RepositoryContract, ClaimMessagesTakesOnlyDueMessagesAndChecksItsArguments) {
  committed_run({"m1", "m2"});
  const auto first = repo_->pending_messages(10).at(0);
  repo_->record_publish_failure(first.outbox_id, "broker timeout", clock_.now() + seconds{60});

  EXPECT_TRUE(repo_->claim_messages(0, "relay-a", seconds{60}).empty());
  EXPECT_EQ(error_code_of([&] { repo_->claim_messages(10, "", seconds{60}); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(error_code_of([&] { repo_->claim_messages(10, "relay-a", seconds{0}); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NOT NULL"), 0);

  EXPECT_EQ(payloads_of(repo_->claim_messages(10, "relay-a", seconds{120})),
            std::vector<std::string>{"m2"});
  clock_.advance(seconds{60});
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, "relay-b", seconds{60})),
            std::vector<std::string>{"m1"});
}

TEST_P(RepositoryContract, ReleaseMessageClaimsFreesOnlyWhatDeadOwnersHold) {
  committed_run({"m1", "m2", "m3", "m4"});
  ASSERT_EQ(repo_->claim_messages(2, "host:101", seconds{60}).size(), 2u);
  ASSERT_EQ(repo_->claim_messages(1, "host:202", seconds{60}).size(), 1u);
  const auto failed = repo_->claim_messages(1, "host:303", seconds{60});
  ASSERT_EQ(failed.size(), 1u);
  repo_->record_publish_failure(failed[0].outbox_id, "broker timeout", clock_.now());

  std::vector<std::string> asked;
  const auto dead = [&](const std::string& owner) {
    asked.push_back(owner);
    return owner == "host:101";
  };
  EXPECT_EQ(repo_->release_message_claims(dead), 2);
  std::sort(asked.begin(), asked.end());
  EXPECT_EQ(asked, (std::vector<std::string>{"host:101", "host:202"}))
      << "only the owners of live claims are asked about";
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, "host:404", seconds{60})),
            (std::vector<std::string>{"m1", "m2", "m4"}));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'host:202'"), 1);
  EXPECT_EQ(repo_->release_message_claims([](const std::string&) { return false; }), 0);

  // An expired claim needs no release: it is claimable anyway.
  clock_.advance(seconds{60});
  asked.clear();
  EXPECT_EQ(repo_->release_message_claims(dead), 0);
  EXPECT_TRUE(asked.empty());
}

TEST_P(RepositoryContract, RelaysClaimingAtOnceNeverGetTheSameMessage) {
  std::vector<std::string> payloads;
  for (int i = 0; i < 120; ++i) payloads.push_back("m" + std::to_string(i));
  committed_run(payloads);

  constexpr int kRelays = 4;
  std::vector<std::unique_ptr<Repository>> repos;
  for (int i = 0; i < kRelays; ++i) repos.push_back(db_->open(clock_));
  std::vector<std::vector<std::int64_t>> claimed(kRelays);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRelays; ++i) {
    threads.emplace_back([&, i] {
      try {
        const std::string owner = "relay-" + std::to_string(i);
        while (true) {
          const auto batch = repos[i]->claim_messages(7, owner, seconds{60});
          if (batch.empty()) break;
          for (const auto& m : batch) claimed[i].push_back(m.outbox_id);
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "claim_messages failed: " << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();

  std::map<std::int64_t, int> times_claimed;
  for (const auto& ids : claimed) {
    for (auto id : ids) ++times_claimed[id];
  }
  EXPECT_EQ(times_claimed.size(), payloads.size()) << "every message is claimed";
  for (const auto& [id, times] : times_claimed) {
    EXPECT_EQ(times, 1) << "outbox message " << id << " was claimed by " << times << " relays";
  }
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NULL"), 0);
}

// ---- failure, empty runs ----

TEST_P(RepositoryContract, RecordFailureByAnotherOwnerIsLeaseLostAndKeepsTheLease) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(error_code_of([&] { repo_->record_failure(run.run_id, "b", run.attempts, "boom"); }),
            ErrorCode::kLeaseLost);
  auto stored = repo_->find_run(run.run_id);
  EXPECT_EQ(stored->lease_owner, "a");
  EXPECT_EQ(stored->last_error, "");
}

TEST_P(RepositoryContract, CompleteEmptyMarksARunWithoutUsersEmpty) {
  const std::string group = add_group(domain_);
  add_user(group, /*sent=*/true);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(run.item_count, 0);
  EXPECT_EQ(error_code_of([&] { repo_->complete_empty(run.run_id, "b", run.attempts); }),
            ErrorCode::kLeaseLost);
  repo_->complete_empty(run.run_id, "a", run.attempts);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kEmpty);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);

  const ExportRun again = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_EQ(again.run_id, run.run_id);
  EXPECT_EQ(again.state, RunState::kEmpty);
}

TEST_P(RepositoryContract, CompleteEmptyRefusesARunWithUsers) {
  const std::string group = add_group(domain_);
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  EXPECT_THROW(repo_->complete_empty(run.run_id, "a", run.attempts), Error);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
  EXPECT_FALSE(is_sent(u1));
}

// ---- stream ----

TEST_P(RepositoryContract, StreamRowsGivesRequestedFieldsInIdOrderWithNulls) {
  const std::string group = add_group(domain_);
  const auto with_profile = add_user(group);
  const auto without_profile = add_user(group);
  db_->exec("UPDATE users SET email = NULL WHERE id = " + std::to_string(without_profile));
  db_->exec(
      "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
      "interests) VALUES (" +
      std::to_string(with_profile) + ", 'Ana', NULL, '1990-12-31', 'Lagos', '', 'chess')");
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));

  RowCollector rows;
  repo_->stream_rows(run.run_id,
                     {"city", "id", "email", "gender", "bio", "date_of_birth", "created_at",
                      "group_id", "display_name"},
                     rows);
  ASSERT_EQ(rows.rows.size(), 2u);
  const auto& a = rows.rows[0];
  EXPECT_EQ(a[0], "Lagos");
  EXPECT_EQ(a[1], std::to_string(with_profile));
  EXPECT_EQ(a[2],
            *db_->query_one("SELECT email FROM users WHERE id = " + std::to_string(with_profile)));
  EXPECT_EQ(a[3], std::nullopt);
  EXPECT_EQ(a[4], "");  // empty text is not NULL
  EXPECT_EQ(a[5], "1990-12-31");
  EXPECT_EQ(a[6], "2025-03-04 05:06:07");
  EXPECT_EQ(a[7], group);
  EXPECT_EQ(a[8], "Ana");
  const auto& b = rows.rows[1];
  EXPECT_EQ(b[1], std::to_string(without_profile));
  EXPECT_EQ(b[2], std::nullopt);
  for (int i : {0, 3, 4, 5, 8}) EXPECT_EQ(b[static_cast<std::size_t>(i)], std::nullopt) << i;
  EXPECT_EQ(b[6], "2025-03-04 05:06:07");
}

TEST_P(RepositoryContract, StreamRowsReturnsHostileValuesByteExact) {
  const std::string group = add_group(domain_);
  const auto id = add_user(group);
  const std::vector<std::string> hostile = {
      "Smith, John",
      "She said \"hi\"",
      "line one\nline two",
      "windows\r\nline",
      "tab\there",
      "Zoë from São Paulo, Kraków and 東京 🚀",
      "=HYPERLINK(\"http://example.com\")",
      "it's",
  };
  db_->exec(
      "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
      "interests) VALUES (" +
      std::to_string(id) + ", " + quote(hostile[0]) + ", " + quote(hostile[1]) + ", NULL, " +
      quote(hostile[5]) + ", " + quote(hostile[2]) + ", " + quote(hostile[3]) + ")");
  db_->exec("UPDATE users SET username = " + quote(hostile[4]) + ", email = " + quote(hostile[6]) +
            ", phone = " + quote(hostile[7]) + " WHERE id = " + std::to_string(id));
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));

  RowCollector rows;
  repo_->stream_rows(
      run.run_id,
      {"display_name", "gender", "bio", "interests", "username", "city", "email", "phone"}, rows);
  ASSERT_EQ(rows.rows.size(), 1u);
  const std::vector<std::optional<std::string>> expected = {hostile[0], hostile[1], hostile[2],
                                                            hostile[3], hostile[4], hostile[5],
                                                            hostile[6], hostile[7]};
  EXPECT_EQ(rows.rows[0], expected);
}

TEST_P(RepositoryContract, StreamRowsRejectsAnUnknownFieldNamingItAndTheValidOnes) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  RowCollector rows;
  try {
    repo_->stream_rows(run.run_id, {"ref_id", "password_hash"}, rows);
    FAIL() << "an unknown field must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    const std::string what = e.what();
    EXPECT_NE(what.find("password_hash"), std::string::npos) << what;
    for (const auto& field : known_source_fields()) {
      EXPECT_NE(what.find(field), std::string::npos) << field << " missing from: " << what;
    }
  }
  EXPECT_TRUE(rows.rows.empty());
}

TEST_P(RepositoryContract, HandlerExceptionAbortsTheStreamAndTheRepositoryStaysUsable) {
  const std::string group = add_group(domain_);
  for (int i = 0; i < 5; ++i) add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  struct Failing : RowHandler {
    int seen = 0;
    void on_row(RowView) override {
      if (++seen == 2) throw std::runtime_error("disk full");
    }
  } failing;
  EXPECT_THROW(repo_->stream_rows(run.run_id, {"ref_id"}, failing), std::runtime_error);
  EXPECT_EQ(failing.seen, 2);
  EXPECT_EQ(streamed_ids(run.run_id).size(), 5u);
  commit_run(run.run_id, "a", {});
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE sent_to_matching_service"), 5);
}

// ---- concurrency ----

TEST_P(RepositoryContract, ConcurrentClaimsOfDifferentGroupsFromTwoThreads) {
  constexpr int kRounds = 10;
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  for (int i = 0; i < 20; ++i) {
    add_user(a);
    add_user(b);
  }
  std::vector<ClaimRequest> requests;
  for (int round = 0; round < kRounds; ++round) {
    requests.push_back(claim_request(a, slot1_ + std::chrono::hours(round), "ta"));
    requests.push_back(claim_request(b, slot1_ + std::chrono::hours(round), "tb"));
  }
  std::atomic<int> claimed_items{0};
  auto worker = [&](int offset) {
    try {
      for (int round = 0; round < kRounds; ++round) {
        const auto& request = requests[static_cast<std::size_t>(round * 2 + offset)];
        const ExportRun run = repo_->claim(request);
        claimed_items += static_cast<int>(run.item_count);
        CommitRequest commit;
        commit.run_id = run.run_id;
        commit.owner = request.owner;
        commit.attempt = run.attempts;
        repo_->commit(commit);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "worker failed: " << e.what();
    }
  };
  std::thread t1(worker, 0);
  std::thread t2(worker, 1);
  t1.join();
  t2.join();
  EXPECT_EQ(claimed_items.load(), 40);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE sent_to_matching_service"), 40);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 2 * kRounds);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs WHERE state = 'completed'"), 2 * kRounds);
}

TEST_P(RepositoryContract, ConcurrentClaimsOfOneGroupAdmitExactlyOneOwner) {
  for (int round = 0; round < 8; ++round) {
    const std::string group = add_group(domain_);
    for (int i = 0; i < 3; ++i) add_user(group);
    const ClaimRequest first = claim_request(group, slot1_, "one");
    const ClaimRequest second = claim_request(group, slot2_, "two");
    auto second_repo = db_->open(clock_);
    std::atomic<int> won{0};
    std::atomic<int> lost{0};
    auto attempt = [&](Repository& repo, const ClaimRequest& request) {
      try {
        repo.claim(request);
        ++won;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kLeaseLost) {
          ++lost;
        } else {
          ADD_FAILURE() << "unexpected error: " << e.what();
        }
      }
    };
    std::thread t1(attempt, std::ref(*repo_), std::cref(first));
    std::thread t2(attempt, std::ref(*second_repo), std::cref(second));
    t1.join();
    t2.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 1) << "round " << round;
    EXPECT_EQ(count("SELECT count(*) FROM export_runs WHERE group_id = " + quote(group)), 1);
    EXPECT_EQ(count("SELECT count(*) FROM export_run_items i JOIN export_runs r ON r.run_id = "
                    "i.run_id WHERE r.group_id = " +
                    quote(group)),
              3);
  }
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
  EXPECT_FALSE(repo_->find_run(uuid(4, 123456)));
}

// The start-up sweep visits every unfinished run, and recent finished runs that may have left
// something behind: more than one attempt, or a file big enough to go up in parts.
TEST_P(RepositoryContract, RunsToSweepAreTheUnfinishedAndTheRecentOnesThatMayHaveLeftDebris) {
  auto commit_with_bytes = [&](const ExportRun& run, std::int64_t bytes) {
    CommitRequest request;
    request.run_id = run.run_id;
    request.owner = "x";
    request.attempt = repo_->find_run(run.run_id)->attempts;
    ExportedFile file;
    file.object_key = "k/" + run.run_id;
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
  repo_->record_failure(retried.run_id, "x", retried.attempts, "boom");
  retried = repo_->claim(claim_request(retried.group_id.str(), slot1_, "x"));
  ASSERT_EQ(retried.attempts, 2);
  commit_with_bytes(retried, 1);

  std::vector<std::string> ids;
  for (const auto& run : repo_->runs_to_sweep(since, 100, 10)) ids.push_back(run.run_id);
  EXPECT_EQ(ids, (std::vector<std::string>{retried.run_id, big.run_id, old_unfinished.run_id}));
  EXPECT_EQ(repo_->runs_to_sweep(since, 100, 1).size(), 1u);
}

// ---- seed ----

TEST_P(RepositoryContract, SeedLoadsAlternatingGroupsEvenlyWithEveryValueRoundTripping) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse(domain_);
  plan.users = 1000;
  plan.groups = 4;
  plan.random_seed = 7;
  std::vector<std::pair<std::int64_t, std::int64_t>> progress;
  repo_->seed(plan,
              [&](std::int64_t done, std::int64_t total) { progress.emplace_back(done, total); });
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(std::int64_t{1000}, std::int64_t{1000}));

  const SyntheticData data(plan);
  const auto groups = repo_->active_groups(plan.domain_id);
  ASSERT_EQ(groups.size(), 4u);
  std::map<std::string, int> types;
  for (const auto& g : groups) {
    ++types[g.type_name];
    EXPECT_EQ(count("SELECT count(*) FROM users WHERE group_id = " + quote(g.id.str())), 250);
  }
  EXPECT_EQ(types["COST_BASED"], 2);
  EXPECT_EQ(types["NON_COST_BASED"], 2);
  for (std::size_t i = 0; i < data.groups().size(); ++i) {
    EXPECT_EQ(*db_->query_one("SELECT group_type FROM matching_groups WHERE id = " +
                              quote(data.groups()[i].id.str())),
              i % 2 == 0 ? "COST_BASED" : "NON_COST_BASED");
  }
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1000);
  const auto profiles = count("SELECT count(*) FROM profiles");
  EXPECT_GT(profiles, 800);
  EXPECT_LT(profiles, 1000);

  // Every stored value equals the generator's, byte for byte, NULLs included.
  std::map<std::string, SyntheticUser> expected;
  for (std::int64_t i = 0; i < data.user_count(); ++i) {
    SyntheticUser u;
    data.fill_user(i, u);
    expected.emplace(u.ref_id, u);
  }
  const std::vector<std::string> fields = {
      "ref_id",       "username", "email",         "phone", "group_id", "created_at",
      "display_name", "gender",   "date_of_birth", "city",  "bio",      "interests"};
  std::vector<std::string> group_ids;
  for (const auto& g : data.groups()) group_ids.push_back(g.id.str());
  std::int64_t rows = 0;
  std::set<std::string> features;
  for (const auto& g : groups) {
    const ExportRun run = repo_->claim(claim_request(g.id.str(), slot1_, "seed-check"));
    RowCollector collected;
    repo_->stream_rows(run.run_id, fields, collected);
    for (const auto& row : collected.rows) {
      ++rows;
      const auto it = expected.find(row[0].value_or(""));
      ASSERT_NE(it, expected.end());
      const SyntheticUser& u = it->second;
      const auto profile = [&](const SyntheticText& t) {
        return u.has_profile ? t.view() : std::nullopt;
      };
      const std::vector<std::optional<std::string_view>> want = {u.ref_id,
                                                                 u.username,
                                                                 u.email.view(),
                                                                 u.phone.view(),
                                                                 group_ids[u.group_index],
                                                                 u.created_at,
                                                                 profile(u.display_name),
                                                                 profile(u.gender),
                                                                 profile(u.date_of_birth),
                                                                 profile(u.city),
                                                                 profile(u.bio),
                                                                 profile(u.interests)};
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto got = row[i] ? std::optional<std::string_view>(*row[i]) : std::nullopt;
        ASSERT_EQ(got, want[i]) << fields[i] << " of " << u.ref_id;
        if (!row[i]) features.insert("null");
        if (!row[i]) continue;
        const std::string& v = *row[i];
        if (v.find('\n') != std::string::npos) features.insert("lf");
        if (v.find("\r\n") != std::string::npos) features.insert("crlf");
        if (v.find('"') != std::string::npos) features.insert("quote");
        if (v.find(',') != std::string::npos) features.insert("comma");
        if (v.find('\t') != std::string::npos) features.insert("tab");
        if (!v.empty() && v[0] == '=') features.insert("formula");
        if (std::any_of(v.begin(), v.end(), [](char c) { return (c & 0x80) != 0; })) {
          features.insert("non-ascii");
        }
      }
    }
  }
  EXPECT_EQ(rows, 1000);
  EXPECT_EQ(features, (std::set<std::string>{"null", "lf", "crlf", "quote", "comma", "tab",
                                             "formula", "non-ascii"}));
}

TEST_P(RepositoryContract, SeedRefusesBadPlansAndARepeatedSeed) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse(domain_);
  plan.users = 10;
  plan.groups = 0;
  EXPECT_EQ(error_code_of([&] { repo_->seed(plan, nullptr); }), ErrorCode::kInvalidInput);
  plan.groups = 2;
  plan.users = -1;
  EXPECT_EQ(error_code_of([&] { repo_->seed(plan, nullptr); }), ErrorCode::kInvalidInput);
  plan.users = 10;
  repo_->seed(plan, nullptr);
  EXPECT_THROW(repo_->seed(plan, nullptr), Error);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 10);
  EXPECT_EQ(count("SELECT count(*) FROM matching_groups"), 2);
}

TEST_P(RepositoryContract, StreamBatchAndCommitBatchCoverEveryRunAndFenceEachOnItsOwn) {
  std::vector<std::string> runs;
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
  for (const std::string& run : runs) {
    CommitRequest request;
    request.run_id = run;
    request.owner = "a";
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

}  // namespace user_export::contract
