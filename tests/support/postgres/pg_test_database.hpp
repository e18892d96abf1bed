#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "source/postgres/pg_connection.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "support/fake_clock.hpp"
#include "support/services.hpp"

namespace user_export::testing {

/// The server the integration tests use: UE_TEST_PG_URL, or nullopt when it is unset.
std::optional<std::string> pg_server_url();

/// What a test without a server says: it is skipped, or fails when services_required()
/// (support/services.hpp).
inline constexpr const char* kNoPgServer =
    "UE_TEST_PG_URL is not set; start the server with scripts/services/postgres.sh";

/// A new, empty database on the test server for one test, so tests can run in parallel; it is
/// dropped (with any sessions still connected) when this object is destroyed.
class PgTestDatabase {
 public:
  /// Creates the database; throws Error(kDatabase) if the server refuses.
  explicit PgTestDatabase(const std::string& server_url);
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;
  ~PgTestDatabase();

  /// `postgresql://…/<this database>`.
  const std::string& url() const { return url_; }
  /// The database's name.
  const std::string& name() const { return name_; }
  /// A new connection to this database (for the test's own queries).
  std::unique_ptr<pg::Connection> connect() const;

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

/// Base fixture: a fresh migrated database, a FakeClock and a PostgresRepository on it. Skips
/// the test when no server is configured (fails it when UE_REQUIRE_SERVICES=1).
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Runs `sql` on a fresh connection and returns the first column of the first row as text
  /// ("" for NULL or no row).
  std::string scalar(const std::string& sql, const std::vector<pg::Param>& params = {});

  FakeClock clock_;
  std::unique_ptr<PgTestDatabase> db_;
  std::unique_ptr<PostgresRepository> repo_;
  std::unique_ptr<pg::Connection> sql_;  ///< the test's own connection
};

/// PostgresTest with one domain (`test_uuid(1, 1)`) and one COST_BASED group in it.
class PostgresGroupTest : public PostgresTest {
 protected:
  void SetUp() override;

  std::string domain_;
  std::string group_;
};

}  // namespace user_export::testing
