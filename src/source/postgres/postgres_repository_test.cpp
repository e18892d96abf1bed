// PostgreSQL-specific behaviour of the repository: migrations, seed, claim/commit fencing.
#include "source/postgres/postgres_repository.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/error.hpp"
#include "source/postgres/migrations.hpp"
#include "source/postgres/pg_url.hpp"
#include "source/synthetic_data.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export::pg {
namespace {

using namespace user_export::testing;

using namespace std::chrono_literals;

const Slot kSlot{std::chrono::seconds{1'767'225'600}};

class PostgresRepositoryTest : public PostgresGroupTest {};

template <typename F>
ErrorCode error_code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no Error thrown";
  return ErrorCode::kInternal;
}

TEST_F(PostgresRepositoryTest, MigrateTwiceRecordsEachVersionOnce) {
  EXPECT_EQ(repo_->schema_version(), latest_schema_version());
  repo_->migrate();
  EXPECT_EQ(repo_->schema_version(), latest_schema_version());
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_version"), std::to_string(latest_schema_version()));
  EXPECT_EQ(scalar("SELECT to_regclass('export_outbox') IS NOT NULL"), "t");
}

// Version 3 turns the per-user items of version 2 into id arrays: a run claimed before the
// upgrade is resumed after it with exactly its users, and the old table name still reads them.
TEST_F(PostgresRepositoryTest, UpgradeToClaimArraysCarriesUnfinishedClaimsOver) {
  // Back to version 2's shape, with a run that claimed three users (one beyond the first
  // 65,536-id chunk) while a fourth user was left unclaimed.
  const std::int64_t a = add_user(*sql_, group_);
  const std::int64_t b = add_user(*sql_, group_);
  sql_->exec("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)",
             {std::to_string(b + 70'000)});
  const std::int64_t c = add_user(*sql_, group_);
  const std::int64_t unclaimed = add_user(*sql_, group_);
  const std::string run = test_uuid(4, 77);
  sql_->exec(
      "DROP TABLE export_run_actions; DROP TABLE export_outbox_staged; DROP VIEW export_run_items; "
      "DROP TABLE export_run_claims; ALTER TABLE export_outbox DROP COLUMN claimed_by, "
      "DROP COLUMN claim_expires_at, DROP COLUMN replay_of; "
      "DELETE FROM schema_version WHERE version >= 3; "
      "CREATE TABLE export_run_items (run_id uuid NOT NULL REFERENCES export_runs (run_id), "
      "user_id bigint NOT NULL, PRIMARY KEY (run_id, user_id))");
  sql_->exec(
      "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, attempts, "
      "lease_owner, lease_expires_at, created_at, updated_at) VALUES ($1, $2, $3, "
      "to_timestamp(1767225600), 'claimed', 3, 1, NULL, NULL, now(), now())",
      {run, group_, domain_});
  sql_->exec("INSERT INTO export_run_items VALUES ($1, $2), ($1, $3), ($1, $4)",
             {run, std::to_string(a), std::to_string(b), std::to_string(c)});

  repo_->migrate();
  EXPECT_EQ(repo_->schema_version(), latest_schema_version());
  EXPECT_EQ(scalar("SELECT count(*) FROM export_run_claims WHERE run_id = $1", {run}), "2");
  EXPECT_EQ(scalar("SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM "
                   "export_run_items WHERE run_id = $1",
                   {run}),
            std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c));

  ExportRun resumed = repo_->claim(claim_request(domain_, group_, kSlot, "me", 1));
  ASSERT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.run_id.str(), run);
  CollectingHandler rows;
  repo_->stream_rows(RunId(run), {"id"}, rows);
  ASSERT_EQ(rows.rows.size(), 3u);
  EXPECT_EQ(rows.rows[0][0], std::to_string(a));
  EXPECT_EQ(rows.rows[1][0], std::to_string(b));
  EXPECT_EQ(rows.rows[2][0], std::to_string(c));
  CommitRequest commit;
  commit.run_id = RunId(run);
  commit.owner = OwnerId("me");
  commit.attempt = resumed.attempts;
  repo_->commit(commit);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "3");
  EXPECT_EQ(scalar("SELECT sent_to_matching_service::text FROM users WHERE id = $1",
                   {std::to_string(unclaimed)}),
            "false");
}

TEST(PostgresMigrations, TwoInstancesMigratingAtOnceBothSucceed) {
  auto url = pg_server_url();
  UE_SKIP_UNLESS_SERVICE(url, kNoPgServer);
  for (int round = 0; round < 3; ++round) {
    PgTestDatabase db(*url);
    testing::FakeClock clock;
    PostgresRepository first(db.url(), clock);
    PostgresRepository second(db.url(), clock);
    EXPECT_EQ(first.schema_version(), 0);
    std::exception_ptr failures[2];
    std::thread a([&] {
      try {
        first.migrate();
      } catch (...) {
        failures[0] = std::current_exception();
      }
    });
    std::thread b([&] {
      try {
        second.migrate();
      } catch (...) {
        failures[1] = std::current_exception();
      }
    });
    a.join();
    b.join();
    for (auto& failure : failures) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    }
    EXPECT_EQ(first.schema_version(), latest_schema_version());
    auto c = db.connect();
    EXPECT_EQ(c->exec("SELECT count(*) FROM schema_version").int64(0, 0), latest_schema_version());
  }
}

TEST_F(PostgresRepositoryTest, SeedLoadsTheGeneratorsRowsExactly) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse(domain_);
  plan.users = 3000;
  plan.groups = 3;
  plan.random_seed = 7;
  std::int64_t last_progress = -1;
  repo_->seed(plan, [&](std::int64_t done, std::int64_t total) {
    EXPECT_EQ(total, 3000);
    last_progress = done;
  });
  EXPECT_EQ(last_progress, 3000);
  SyntheticData data(plan);
  EXPECT_EQ(scalar("SELECT count(*) FROM users"), "3000");
  EXPECT_EQ(scalar("SELECT count(*) FROM matching_groups WHERE domain_id = $1", {domain_}), "4");

  // Every value, user and profile, as the database holds it.
  Result r = sql_->exec(
      "SELECT u.ref_id::text, u.username, u.email, u.phone, u.group_id::text, "
      "to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'), p.user_id IS NOT NULL, p.display_name, "
      "p.gender, to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city, p.bio, p.interests "
      "FROM users u LEFT JOIN profiles p ON p.user_id = u.id ORDER BY u.id");
  ASSERT_EQ(r.rows(), 3000);
  auto same = [&](int row, int col, const SyntheticText& expected) {
    EXPECT_EQ(r.is_null(row, col), expected.null) << row << "," << col;
    if (!expected.null) {
      EXPECT_EQ(r.view(row, col), expected.value) << row << "," << col;
    }
  };
  SyntheticUser user;
  for (int i = 0; i < 3000; ++i) {
    data.fill_user(i, user);
    ASSERT_EQ(r.view(i, 0), user.ref_id);
    EXPECT_EQ(r.view(i, 1), user.username);
    same(i, 2, user.email);
    same(i, 3, user.phone);
    EXPECT_EQ(r.view(i, 4), data.groups()[user.group_index].id.str());
    EXPECT_EQ(r.view(i, 5), user.created_at);
    ASSERT_EQ(r.view(i, 6), user.has_profile ? "t" : "f");
    if (!user.has_profile) continue;
    same(i, 7, user.display_name);
    same(i, 8, user.gender);
    same(i, 9, user.date_of_birth);
    same(i, 10, user.city);
    same(i, 11, user.bio);
    same(i, 12, user.interests);
  }
  // The identity column continues after the seeded ids.
  std::int64_t next = add_user(*sql_, group_);
  EXPECT_EQ(next, 3001);
  EXPECT_EQ(error_code_of([&] { repo_->seed(plan, nullptr); }), ErrorCode::kInvalidInput);
}

TEST_F(PostgresRepositoryTest, CommitMarksExactlyTheClaimedUsersAndQueuesMessages) {
  std::int64_t a = add_user(*sql_, group_);
  std::int64_t b = add_user(*sql_, group_, false);
  std::string other_group = add_group(*sql_, domain_, 2);
  std::int64_t other = add_user(*sql_, other_group);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "me", 1));
  EXPECT_EQ(run.item_count, 2);
  EXPECT_EQ(scalar("SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM "
                   "export_run_items WHERE run_id = $1",
                   {run.run_id.str()}),
            std::to_string(a) + "," + std::to_string(b));

  CommitRequest commit;
  commit.run_id = run.run_id;
  commit.owner = OwnerId("me");
  commit.attempt = run.attempts;
  ExportedFile file;
  file.object_key = "k/" + run.run_id.str() + ".csv.gz";
  file.rows = 2;
  file.bytes = 99;
  file.sha256 = std::string(64, 'a');
  commit.file = file;
  OutboundMessage message;
  message.topic = "flairbit-users";
  message.key = group_;
  message.payload = R"({"runId":"x"})";
  message.headers = {{"runId", run.run_id.str()}, {"schemaVersion", "1.0"}};
  commit.messages = {message, message};
  repo_->commit(commit);

  EXPECT_EQ(scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM users WHERE "
                   "sent_to_matching_service"),
            std::to_string(a) + "," + std::to_string(b));
  EXPECT_EQ(
      scalar("SELECT sent_to_matching_service FROM users WHERE id = $1", {std::to_string(other)}),
      "f");
  EXPECT_EQ(scalar("SELECT state || ' ' || object_key || ' ' || row_count || ' ' || byte_count "
                   "FROM export_runs WHERE run_id = $1",
                   {run.run_id.str()}),
            "committed " + file.object_key + " 2 99");
  auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].headers, message.headers);
  EXPECT_EQ(pending[0].payload, message.payload);
  repo_->mark_published(pending[0].outbox_id);
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  repo_->mark_dead_lettered(pending[1].outbox_id, "too large");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_EQ(scalar("SELECT last_error FROM export_outbox WHERE id = $1",
                   {std::to_string(pending[1].outbox_id)}),
            "too large");
}

TEST_F(PostgresRepositoryTest, CommitAfterTheLeaseWasTakenOverChangesNothing) {
  std::int64_t user = add_user(*sql_, group_);
  auto request = claim_request(domain_, group_, kSlot, "old", 1);
  request.lease = 60s;
  ExportRun first = repo_->claim(request);
  ASSERT_EQ(first.item_count, 1);

  // The lease runs out; another instance resumes the same run with the same users.
  clock_.advance(61s);
  EXPECT_EQ(
      error_code_of([&] { repo_->heartbeat(first.run_id, OwnerId("old"), first.attempts, 60s); }),
      ErrorCode::kLeaseLost);
  ExportRun second = repo_->claim(claim_request(domain_, group_, kSlot, "new", 2));
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(second.attempts, 2);

  CommitRequest stale;
  stale.run_id = first.run_id;
  stale.owner = OwnerId("old");
  stale.attempt = first.attempts;
  OutboundMessage message;
  message.topic = "t";
  message.key = group_;
  message.payload = "{}";
  stale.messages = {message};
  EXPECT_EQ(error_code_of([&] { repo_->commit(stale); }), ErrorCode::kLeaseLost);
  EXPECT_EQ(
      error_code_of([&] { repo_->complete_empty(first.run_id, OwnerId("old"), first.attempts); }),
      ErrorCode::kLeaseLost);
  EXPECT_EQ(
      scalar("SELECT sent_to_matching_service FROM users WHERE id = $1", {std::to_string(user)}),
      "f");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_outbox"), "0");
  EXPECT_EQ(scalar("SELECT state || ' ' || lease_owner FROM export_runs WHERE run_id = $1",
                   {first.run_id.str()}),
            "claimed new");

  // The live owner's commit goes through.
  stale.owner = OwnerId("new");
  stale.attempt = second.attempts;
  repo_->commit(stale);
  EXPECT_EQ(
      scalar("SELECT sent_to_matching_service FROM users WHERE id = $1", {std::to_string(user)}),
      "t");
}

TEST_F(PostgresRepositoryTest, ALiveLeaseOfAnotherOwnerIsOnlyTakenOverWhenItIsKnownDead) {
  add_user(*sql_, group_);
  ExportRun run = repo_->claim(claim_request(domain_, group_, kSlot, "host:1", 1));
  auto other = claim_request(domain_, group_, kSlot + std::chrono::hours{24}, "host:2", 2);
  EXPECT_EQ(error_code_of([&] { repo_->claim(other); }), ErrorCode::kLeaseLost);
  other.owner_is_dead = [](const OwnerId& owner) { return owner == OwnerId("host:1"); };
  ExportRun taken = repo_->claim(other);
  EXPECT_TRUE(taken.resumed);
  EXPECT_EQ(taken.run_id, run.run_id);
  EXPECT_EQ(taken.lease_owner.str(), "host:2");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_runs"), "1");
}

TEST_F(PostgresRepositoryTest, TheUniqueGuardAllowsOneUnfinishedRunPerGroup) {
  repo_->claim(claim_request(domain_, group_, kSlot, "me", 1));
  // Even a writer that skips the claim's lock cannot create a second unfinished run.
  try {
    sql_->exec(
        "INSERT INTO export_runs (run_id, group_id, domain_id, slot, state, item_count, "
        "attempts, created_at, updated_at) VALUES ($1, $2, $3, now(), 'claimed', 0, 1, now(), "
        "now())",
        {test_uuid(4, 99), group_, domain_});
    FAIL() << "a second claimed run was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("23505"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresRepositoryTest, OpenRepositoryOpensPostgresUrls) {
  testing::FakeClock clock;
  auto repository = open_repository(db_->url(), clock);
  EXPECT_EQ(repository->schema_version(), latest_schema_version());
  EXPECT_EQ(repository->find_group(GroupId::parse(group_))->domain_id.str(), domain_);
  std::string postgres_scheme = "postgres" + db_->url().substr(db_->url().find("://"));
  EXPECT_EQ(open_repository(postgres_scheme, clock)->active_groups(DomainId::parse(domain_)).size(),
            1u);
}

TEST_F(PostgresRepositoryTest, ABadUrlOrUnreachableServerIsReportedWithoutThePassword) {
  testing::FakeClock clock;
  try {
    make_postgres_repository("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2", clock);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase);
    EXPECT_TRUE(e.retriable());
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(error_code_of([&] { make_postgres_repository("mysql://x", clock); }),
            ErrorCode::kConfig);
}

}  // namespace
}  // namespace user_export::pg
