#include "source/postgres/postgres_stream_sql.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export::pg {
namespace {

const Uuid kRun = *Uuid::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");

TEST(StreamSql, SelectsTextFormsInIdOrderAndEmbedsTheParsedRunId) {
  std::string sql = stream_copy_sql(kRun, {"ref_id", "created_at", "date_of_birth", "city"});
  EXPECT_EQ(sql,
            "COPY (SELECT u.ref_id::text, to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'), "
            "to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city::text FROM export_run_items i "
            "JOIN users u ON u.id = i.user_id LEFT JOIN profiles p ON p.user_id = u.id "
            "WHERE i.run_id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301' ORDER BY i.user_id) "
            "TO STDOUT");
}

TEST(StreamSql, JoinsProfilesOnlyWhenAProfileFieldIsAsked) {
  std::string sql = stream_copy_sql(kRun, {"id", "email"});
  EXPECT_EQ(sql.find("profiles"), std::string::npos) << sql;
}

TEST(StreamSql, RejectsFieldsOutsideTheWhitelist) {
  try {
    stream_copy_sql(kRun, {"ref_id", "password_hash"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
}

}  // namespace
}  // namespace user_export::pg
