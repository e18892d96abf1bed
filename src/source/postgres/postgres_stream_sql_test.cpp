#include "source/postgres/postgres_stream_sql.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export::pg {
namespace {

const Uuid kRun = *Uuid::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");

TEST(StreamSql, ReadsOneChunkOfTheClaimInIdOrder) {
  std::string sql = stream_copy_sql(kRun, 15, {"ref_id", "created_at", "date_of_birth", "city"});
  EXPECT_EQ(sql,
            "COPY (SELECT u.ref_id::text, to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'), "
            "to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city::text FROM users u "
            "LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = ANY ((SELECT user_ids FROM "
            "export_run_claims WHERE run_id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301' AND "
            "chunk = 15)::bigint[]) ORDER BY u.id) TO STDOUT");
}

TEST(StreamSql, UnderTheClaimSnapshotReadsTheClaimableUsersWithTheClaimsOwnCondition) {
  const Uuid group = *Uuid::parse("9a1e1c52-0d7b-4c0e-8f3e-2b6f4a1d5e77");
  std::string sql = snapshot_stream_copy_sql(kRun, group, {"ref_id", "email"});
  EXPECT_EQ(sql, "COPY (SELECT u.ref_id::text, u.email::text FROM users u WHERE " +
                     claimable_users_condition("'9a1e1c52-0d7b-4c0e-8f3e-2b6f4a1d5e77'",
                                               "'3f2504e0-4f89-11d3-9a0c-0305e82c3301'") +
                     " ORDER BY u.id) TO STDOUT");
  EXPECT_NE(claimable_users_condition("$2", "$1").find("u.group_id = $2"), std::string::npos);
  EXPECT_NE(claimable_users_condition("$2", "$1").find("r.run_id <> $1"), std::string::npos);
}

TEST(StreamSql, JoinsProfilesOnlyWhenAProfileFieldIsAsked) {
  std::string sql = stream_copy_sql(kRun, 0, {"id", "email"});
  EXPECT_EQ(sql.find("profiles"), std::string::npos) << sql;
  sql = snapshot_stream_copy_sql(kRun, kRun, {"id", "email"});
  EXPECT_EQ(sql.find("profiles"), std::string::npos) << sql;
}

TEST(StreamSql, RejectsFieldsOutsideTheWhitelist) {
  try {
    stream_copy_sql(kRun, 0, {"ref_id", "password_hash"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
}

}  // namespace
}  // namespace user_export::pg
