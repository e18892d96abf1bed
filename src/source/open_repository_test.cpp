#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
#include "config/config.hpp"
#include "source/repository.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

std::optional<Error> error_of(const std::string& url) {
  testing::FakeClock clock;
  try {
    open_repository(url, clock);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

TEST(OpenRepository, SqliteUrlOpensAWorkingRepository) {
  const testing::TempDir dir("open-repo");
  testing::FakeClock clock;
  {
    auto repo = open_repository("sqlite://" + (dir / "nested" / "export.db").string(), clock);
    repo->migrate();
    EXPECT_GT(repo->schema_version(), 0);
  }
  EXPECT_TRUE(fs::is_regular_file(dir / "nested" / "export.db"));
}

TEST(OpenRepository, UnknownSchemeIsAConfigErrorThatDoesNotEchoTheUrl) {
  auto e = error_of("mysql://admin:s3cret@db.example.com/users");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kConfig);
  const std::string what = e->what();
  EXPECT_NE(what.find("'mysql'"), std::string::npos) << what;
  EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  EXPECT_NE(what.find("sqlite:///"), std::string::npos) << what;

  auto no_scheme = error_of("just-a-password");
  ASSERT_TRUE(no_scheme);
  EXPECT_EQ(no_scheme->code(), ErrorCode::kConfig);
  EXPECT_EQ(std::string(no_scheme->what()).find("just-a-password"), std::string::npos);
}

TEST(OpenRepository, RelativeSqlitePathIsAConfigError) {
  auto e = error_of("sqlite://export.db");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kConfig);
}

}  // namespace
}  // namespace user_export

namespace user_export {
namespace {

TEST(EffectiveDatabaseUrl, PostgresUrlsGetPoolSizeAndConnectTimeoutUnlessTheySetThem) {
  DatabaseConfig config;
  config.pool_size = 7;
  config.connect_timeout = std::chrono::milliseconds{2500};
  config.url = "postgresql://u@db:5432/app";
  EXPECT_EQ(effective_database_url(config),
            "postgresql://u@db:5432/app?pool_size=7&connect_timeout=2");
  config.url = "postgres://u@db/app?sslmode=require&pool_size=2";
  EXPECT_EQ(effective_database_url(config),
            "postgres://u@db/app?sslmode=require&pool_size=2&connect_timeout=2");
  config.url = "sqlite:///var/lib/x.db";
  EXPECT_EQ(effective_database_url(config), "sqlite:///var/lib/x.db");
}

}  // namespace
}  // namespace user_export
