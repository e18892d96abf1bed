// The backend-neutral Repository contract, run against PostgreSQL.
#include <gtest/gtest.h>

#include <stdexcept>

#include "source/postgres/postgres_repository.hpp"
#include "support/contract/prune_contract.hpp"
#include "support/contract/repository_contract.hpp"
#include "support/postgres/pg_test_database.hpp"

namespace user_export {
namespace {

using testing::ContractBackend;
using testing::PruneContract;
using testing::RepositoryContract;

/// A fresh database on the test server per contract test.
class PostgresContractDatabase final : public testing::ContractDatabase {
 public:
  explicit PostgresContractDatabase(const std::string& server_url)
      : db_(server_url), sql_(db_.connect()) {}

  std::unique_ptr<Repository> open(Clock& clock) override {
    return std::make_unique<PostgresRepository>(db_.url(), clock);
  }
  void exec(const std::string& sql) override { sql_->exec(sql); }
  std::optional<std::string> query_one(const std::string& sql) override {
    pg::Result r = sql_->exec(sql);
    if (r.rows() == 0) throw std::runtime_error("no row from: " + sql);
    if (r.is_null(0, 0)) return std::nullopt;
    return r.text(0, 0);
  }

 private:
  testing::PgTestDatabase db_;
  std::unique_ptr<pg::Connection> sql_;
};

std::unique_ptr<testing::ContractDatabase> make_postgres_database() {
  auto url = testing::pg_server_url();
  if (!url) {
    if (testing::services_required()) {
      throw std::runtime_error(std::string(testing::kNoPgServer) + " but UE_REQUIRE_SERVICES=1");
    }
    return nullptr;  // skipped
  }
  return std::make_unique<PostgresContractDatabase>(*url);
}

INSTANTIATE_TEST_SUITE_P(Postgres, RepositoryContract,
                         ::testing::Values(ContractBackend{"Postgres", make_postgres_database}),
                         testing::contract_backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, PruneContract,
                         ::testing::Values(ContractBackend{"Postgres", make_postgres_database}),
                         testing::contract_backend_name);

}  // namespace
}  // namespace user_export
