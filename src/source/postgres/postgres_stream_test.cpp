// stream_rows on PostgreSQL: byte-exact values through COPY, and failures mid-stream.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/error.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "support/postgres/pg_fixtures.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export::pg {
namespace {

using namespace user_export::testing;

using namespace std::chrono_literals;

const Slot kSlot{std::chrono::seconds{1'767'225'600}};
const std::vector<std::string> kAllFields = {
    "id",           "ref_id", "username",      "email", "phone", "group_id", "created_at",
    "display_name", "gender", "date_of_birth", "city",  "bio",   "interests"};

// The same fields in their text forms, read with an ordinary query, for comparison.
const char* const kReference =
    "SELECT u.id::text, u.ref_id::text, u.username, u.email, u.phone, u.group_id::text, "
    "to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'), p.display_name, p.gender, "
    "to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city, p.bio, p.interests "
    "FROM export_run_items i JOIN users u ON u.id = i.user_id "
    "LEFT JOIN profiles p ON p.user_id = u.id WHERE i.run_id = $1 ORDER BY u.id";

class PostgresStreamTest : public PostgresGroupTest {
 protected:
  ExportRun claim(std::uint64_t n = 1) {
    return repo_->claim(claim_request(domain_, group_, kSlot, "me", n));
  }
};

// Values a CSV or COPY encoder gets wrong: separators, quotes, line breaks, backslashes,
// escapes that look like COPY's own, NULL next to empty strings, non-ASCII, huge fields.
const std::vector<std::optional<std::string>> kHostile = {
    "comma, inside",
    "\"double\" and 'single' quotes",
    "CR\rLF\nCRLF\r\nend",
    "tab\there\tand\tthere",
    "back\\slash \\N \\t \\\\ \\x41 \\101 trailing\\",
    std::string(""),
    std::nullopt,
    "=HYPERLINK(\"http://x\")",
    "+49 30 1234567",
    "emoji 😀👩‍👩‍👧 東京 Kraków São Paulo",
    "\x01\x07\b\f\v control",
    std::string(100 * 1024, 'z') + "\t\n\\end",
};

TEST_F(PostgresStreamTest, HostileValuesArriveByteExactAsTheDatabaseHoldsThem) {
  // One user per hostile value, put in every text column that may hold it.
  for (const auto& value : kHostile) {
    Param text = value;
    Result r = sql_->exec(
        "INSERT INTO users (ref_id, username, email, phone, group_id, created_at) "
        "VALUES (gen_random_uuid(), coalesce($1, 'null-user') || md5(random()::text), $1, $1, "
        "$2, '1999-12-31 23:59:59.999') RETURNING id",
        {text, group_});
    sql_->exec(
        "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
        "interests) VALUES ($1, $2, $2, '1970-01-01', $2, $2, $2)",
        {r.text(0, 0), text});
  }
  std::int64_t no_profile = add_user(*sql_, group_, false);
  ExportRun run = claim();
  ASSERT_EQ(run.item_count, static_cast<std::int64_t>(kHostile.size()) + 1);

  CollectingHandler handler;
  repo_->stream_rows(run.run_id, kAllFields, handler);
  Result expected = sql_->exec(kReference, {run.run_id.str()});
  ASSERT_EQ(handler.rows.size(), static_cast<std::size_t>(expected.rows()));
  for (int row = 0; row < expected.rows(); ++row) {
    const auto& got = handler.rows[static_cast<std::size_t>(row)];
    ASSERT_EQ(got.size(), kAllFields.size());
    for (int col = 0; col < static_cast<int>(kAllFields.size()); ++col) {
      const auto& value = got[static_cast<std::size_t>(col)];
      ASSERT_EQ(value.has_value(), !expected.is_null(row, col))
          << "row " << row << " " << kAllFields[static_cast<std::size_t>(col)];
      if (value) {
        ASSERT_EQ(*value, expected.view(row, col))
            << "row " << row << " " << kAllFields[static_cast<std::size_t>(col)];
      }
    }
  }
  // And against the inserted values themselves (not only against another read path).
  for (std::size_t i = 0; i < kHostile.size(); ++i) {
    EXPECT_EQ(handler.rows[i][3], kHostile[i]) << i;   // email
    EXPECT_EQ(handler.rows[i][11], kHostile[i]) << i;  // bio
    EXPECT_EQ(handler.rows[i][6], "1999-12-31 23:59:59") << i;
    EXPECT_EQ(handler.rows[i][9], "1970-01-01") << i;
  }
  const auto& last = handler.rows.back();
  EXPECT_EQ(last[0], std::to_string(no_profile));
  for (std::size_t col = 7; col < kAllFields.size(); ++col) EXPECT_FALSE(last[col]) << col;
}

TEST_F(PostgresStreamTest, StreamsOnlyTheRequestedFieldsInIdOrder) {
  add_users(*sql_, group_, 500);
  ExportRun run = claim();
  CollectingHandler handler;
  repo_->stream_rows(run.run_id, {"username", "id"}, handler);
  ASSERT_EQ(handler.rows.size(), 500u);
  std::int64_t previous = 0;
  for (const auto& row : handler.rows) {
    ASSERT_EQ(row.size(), 2u);
    std::int64_t id = std::stoll(*row[1]);
    EXPECT_GT(id, previous);
    previous = id;
    EXPECT_TRUE(row[0]->starts_with("bulk-"));
  }
}

// The first stream after a claim reads the group's users under the claim's snapshot; any
// later one (a resumed run, another process) reads the claim's id arrays. Both must give exactly
// the claimed users, whatever changed in between, and the commit marks exactly them.
TEST_F(PostgresStreamTest, TheClaimSnapshotAndTheClaimArraysStreamTheSameUsers) {
  add_users(*sql_, group_, 70'000, 4);  // ids over two 65,536-id chunks
  const std::int64_t first = std::stoll(scalar("SELECT min(id) FROM users"));
  sql_->exec("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)",
             {std::to_string(first + 140'000)});
  add_users(*sql_, group_, 3, 4);  // a third chunk
  ExportRun run = claim();
  ASSERT_EQ(run.item_count, 70'003);

  // After the claim: a newcomer, a claimed user marked by someone else, one moved away.
  const std::int64_t newcomer = add_user(*sql_, group_);
  const std::string other_group = add_group(*sql_, domain_, 2);
  sql_->exec("UPDATE users SET sent_to_matching_service = true WHERE id = $1",
             {std::to_string(first + 10)});
  sql_->exec("UPDATE users SET group_id = $2 WHERE id = $1",
             {std::to_string(first + 20), other_group});

  CollectingHandler from_snapshot;
  repo_->stream_rows(run.run_id, {"id", "username"}, from_snapshot);
  PostgresRepository other_process(db_->url(), clock_, 1);
  CollectingHandler from_arrays;
  other_process.stream_rows(run.run_id, {"id", "username"}, from_arrays);
  CollectingHandler again;  // the snapshot is used once; this reads the arrays too
  repo_->stream_rows(run.run_id, {"id", "username"}, again);

  Result claimed =
      sql_->exec("SELECT user_id FROM export_run_items WHERE run_id = $1 ORDER BY user_id",
                 {run.run_id.str()});
  ASSERT_EQ(claimed.rows(), 70'003);
  ASSERT_EQ(from_snapshot.rows.size(), 70'003u);
  ASSERT_EQ(from_arrays.rows.size(), 70'003u);
  ASSERT_EQ(again.rows.size(), 70'003u);
  for (int i = 0; i < claimed.rows(); ++i) {
    const auto row = static_cast<std::size_t>(i);
    ASSERT_EQ(from_snapshot.rows[row][0], claimed.view(i, 0)) << i;
    ASSERT_EQ(from_arrays.rows[row][0], claimed.view(i, 0)) << i;
    ASSERT_EQ(again.rows[row][1], from_snapshot.rows[row][1]) << i;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM export_run_items WHERE user_id = $1",
                   {std::to_string(newcomer)}),
            "0");

  // The commit marks every claimed user (the moved one too) and nobody else.
  CommitRequest commit;
  commit.run_id = run.run_id;
  commit.owner = OwnerId("me");
  commit.attempt = run.attempts;
  repo_->commit(commit);
  EXPECT_EQ(scalar("SELECT count(*) FROM users u JOIN export_run_items i ON i.user_id = u.id "
                   "WHERE i.run_id = $1 AND u.sent_to_matching_service",
                   {run.run_id.str()}),
            "70003");
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "70003");
  EXPECT_EQ(scalar("SELECT sent_to_matching_service::text FROM users WHERE id = $1",
                   {std::to_string(newcomer)}),
            "false");
}

TEST_F(PostgresStreamTest, RejectsUnknownFieldsAndRuns) {
  add_user(*sql_, group_);
  ExportRun run = claim();
  CountingHandler handler;
  try {
    repo_->stream_rows(run.run_id, {"ref_id", "password"}, handler);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
  for (std::string bad : {test_uuid(4, 77), std::string("x'); DROP TABLE users; --")}) {
    try {
      repo_->stream_rows(RunId(bad), {"ref_id"}, handler);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidInput) << bad;
    }
  }
  EXPECT_EQ(handler.rows, 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM users"), "1");
}

TEST_F(PostgresStreamTest, AHandlerThatThrowsAbortsTheStreamAndThePoolRecovers) {
  add_users(*sql_, group_, 20000, 200);
  PostgresRepository one_connection(db_->url(), clock_, 1);
  ExportRun run = claim();
  struct Throwing : RowHandler {
    void on_row(RowView) override {
      if (++rows == 10) throw std::runtime_error("disk full");
    }
    int rows = 0;
  } throwing;
  EXPECT_THROW(one_connection.stream_rows(run.run_id, {"ref_id", "bio"}, throwing),
               std::runtime_error);
  EXPECT_EQ(throwing.rows, 10);
  // The abandoned COPY session was closed, not reused: the next stream is complete.
  CountingHandler counting;
  one_connection.stream_rows(run.run_id, {"ref_id", "bio"}, counting);
  EXPECT_EQ(counting.rows, 20000);
  EXPECT_EQ(one_connection.find_run(run.run_id)->item_count, 20000);
}

// The exporter's handler extends the lease while rows stream: a second connection is needed
// while the first is busy, and the smallest pool check-config allows (two) has it, even after
// the claim (which may keep a snapshot open) ran on the same pool.
TEST_F(PostgresStreamTest, AHandlerMayUseTheRepositoryWhileItStreams) {
  add_users(*sql_, group_, 3000);
  PostgresRepository two_connections(db_->url(), clock_, 2);
  ExportRun run = claim();
  struct Heartbeating : RowHandler {
    Heartbeating(Repository& repo, RunId run_id) : repo_(repo), run_id_(std::move(run_id)) {}
    void on_row(RowView) override {
      if (++rows % 1000 == 0) repo_.heartbeat(run_id_, OwnerId("me"), 1, std::chrono::seconds{600});
    }
    Repository& repo_;
    RunId run_id_;
    int rows = 0;
  } handler(two_connections, run.run_id);
  auto done = std::async(std::launch::async,
                         [&] { two_connections.stream_rows(run.run_id, {"ref_id"}, handler); });
  if (done.wait_for(60s) != std::future_status::ready) {
    ADD_FAILURE() << "stream_rows deadlocked waiting for a second connection";
    std::_Exit(1);  // the stuck thread cannot be joined
  }
  done.get();
  EXPECT_EQ(handler.rows, 3000);
  EXPECT_EQ(two_connections.find_run(run.run_id)->lease_expires_at, clock_.now() + 600s);
  EXPECT_EQ(two_connections.pool().peak_connections(), 2u);  // never more than its size
}

// The server side of the stream is killed (as by a failover or an administrator): the stream
// fails with a retriable database error, nothing is marked, and the next attempt streams the
// whole run.
TEST_F(PostgresStreamTest, AConnectionDroppedMidStreamIsARetriableErrorAndNothingIsMarked) {
  // About 80 MB of rows: far more than socket buffers hold, so the server is still sending.
  add_users(*sql_, group_, 40000, 2000);
  ExportRun run = claim();
  struct Killing : RowHandler {
    explicit Killing(Connection& c) : c_(c) {}
    void on_row(RowView) override {
      if (rows++ != 0) return;
      Result killed = c_.exec(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
          "WHERE datname = current_database() AND pid <> pg_backend_pid() "
          "AND query LIKE 'COPY (SELECT%'");
      terminated = killed.int64(0, 0);
    }
    Connection& c_;
    std::int64_t rows = 0;
    std::int64_t terminated = 0;
  } killing(*sql_);
  try {
    repo_->stream_rows(run.run_id, {"ref_id", "bio"}, killing);
    FAIL() << "the stream survived its backend's termination";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabase) << e.what();
    EXPECT_TRUE(e.retriable()) << e.what();
  }
  EXPECT_EQ(killing.terminated, 1);
  EXPECT_LT(killing.rows, 40000);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE sent_to_matching_service"), "0");
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);

  CountingHandler again;
  repo_->stream_rows(run.run_id, {"ref_id", "bio"}, again);
  EXPECT_EQ(again.rows, 40000);
}

}  // namespace
}  // namespace user_export::pg
