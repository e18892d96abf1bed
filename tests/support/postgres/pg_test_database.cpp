#include "support/postgres/pg_test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "source/postgres/pg_url.hpp"
#include "support/postgres/pg_fixtures.hpp"

namespace user_export::testing {

using pg::Connection;
using pg::Param;
using pg::Result;
using pg::with_database;

std::optional<std::string> pg_server_url() {
  const char* url = std::getenv("UE_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

PgTestDatabase::PgTestDatabase(const std::string& server_url) : server_url_(server_url) {
  static std::atomic<int> counter{0};
  std::random_device random;
  name_ = "ue_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(random() % 1000000);
  Connection admin(server_url_);
  admin.exec("CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'UTF8'");
  url_ = with_database(server_url_, name_);
}

PgTestDatabase::~PgTestDatabase() {
  try {
    Connection admin(server_url_);
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
    // A database left behind is removed with the server's data directory.
  }
}

std::unique_ptr<Connection> PgTestDatabase::connect() const {
  return std::make_unique<Connection>(url_);
}

void PostgresTest::SetUp() {
  auto url = pg_server_url();
  UE_SKIP_UNLESS_SERVICE(url, kNoPgServer);
  db_ = std::make_unique<PgTestDatabase>(*url);
  repo_ = std::make_unique<PostgresRepository>(db_->url(), clock_);
  repo_->migrate();
  sql_ = db_->connect();
}

void PostgresTest::TearDown() {
  sql_.reset();
  repo_.reset();
  db_.reset();
}

std::string PostgresTest::scalar(const std::string& sql, const std::vector<Param>& params) {
  Result r = sql_->exec(sql, params);
  if (r.rows() == 0) return "";
  return r.text(0, 0);
}

void PostgresGroupTest::SetUp() {
  PostgresTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  domain_ = test_uuid(1, 1);
  group_ = add_group(*sql_, domain_, 1);
}

}  // namespace user_export::testing
