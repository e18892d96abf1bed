#include "source/postgres/pg_url.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export::pg {
namespace {

TEST(PgUrl, TakesPoolSizeOutOfTheQueryAndKeepsTheRestForLibpq) {
  UrlSettings s =
      parse_url("postgresql://u:p@db:5433/app?sslmode=require&pool_size=8&connect_timeout=3");
  EXPECT_EQ(s.pool_size, 8u);
  EXPECT_EQ(s.uri, "postgresql://u:p@db:5433/app?sslmode=require&connect_timeout=3");
  UrlSettings plain = parse_url("postgres://db/app");
  EXPECT_EQ(plain.pool_size, 0u);
  EXPECT_EQ(plain.uri, "postgres://db/app");
  EXPECT_EQ(parse_url("postgresql://db/app?pool_size=2").uri, "postgresql://db/app");
}

TEST(PgUrl, RejectsOtherSchemesBadPoolSizesAndUnknownParameters) {
  for (const char* url : {"sqlite:///tmp/x.db", "postgresql://db/app?pool_size=0",
                          "postgresql://db/app?pool_size=x", "postgresql://db/app?bogus=1"}) {
    try {
      parse_url(url);
      ADD_FAILURE() << url;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig) << url;
    }
  }
}

TEST(PgUrl, ErrorsNeverShowThePassword) {
  try {
    parse_url("postgresql://u:secret@db/app?bogus=1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_EQ(redact_url("postgresql://u:secret@db:1/app?password=x&sslmode=y"),
            "postgresql://u:***@db:1/app?password=***&sslmode=y");
  EXPECT_EQ(redact_url("postgresql://u@db/app"), "postgresql://u@db/app");
}

TEST(PgUrl, ReplacesTheDatabaseName) {
  EXPECT_EQ(with_database("postgresql://u:p@h:1/old?sslmode=disable", "new"),
            "postgresql://u:p@h:1/new?sslmode=disable");
  EXPECT_EQ(with_database("postgresql://h:1", "new"), "postgresql://h:1/new");
  EXPECT_EQ(with_database("postgresql://h?x=1", "new"), "postgresql://h/new?x=1");
}

}  // namespace
}  // namespace user_export::pg
