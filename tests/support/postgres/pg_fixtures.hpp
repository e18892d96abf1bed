#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.hpp"
#include "source/repository.hpp"

// Small data builders for the PostgreSQL integration tests.
namespace user_export::testing {

/// A deterministic UUID text distinct for each (kind, n).
std::string test_uuid(int kind, std::uint64_t n);

/// Inserts an active group of `domain` and returns its id.
std::string add_group(pg::Connection& c, const std::string& domain, std::uint64_t n,
                      const std::string& type = "COST_BASED");

/// Inserts a user of `group` (with a profile unless `profile` is false) and returns its id.
std::int64_t add_user(pg::Connection& c, const std::string& group, bool profile = true);

/// Inserts `count` users of `group`, each with a profile whose bio is `bio_bytes` long, in one
/// statement.
void add_users(pg::Connection& c, const std::string& group, int count, int bio_bytes = 10);

/// Collects streamed rows as owned values.
class CollectingHandler : public RowHandler {
 public:
  /// Copies the row.
  void on_row(RowView row) override;
  std::vector<std::vector<std::optional<std::string>>> rows;  ///< every row received
};

/// Counts streamed rows and does nothing else.
class CountingHandler : public RowHandler {
 public:
  /// Counts the row.
  void on_row(RowView) override { ++rows; }
  std::int64_t rows = 0;  ///< rows received
};

/// A claim of `group` for `slot` by `owner` with a fresh run id `test_uuid(4, run)`.
ClaimRequest claim_request(const std::string& domain, const std::string& group, Slot slot,
                           const std::string& owner, std::uint64_t run);

}  // namespace user_export::testing
