#pragma once

// The behaviour every Repository backend must show, as a value-parameterised GoogleTest suite.
// A backend's test file instantiates it with a factory of fresh databases:
//
//   using user_export::testing::RepositoryContract;
//   INSTANTIATE_TEST_SUITE_P(Sqlite, RepositoryContract,
//                            ::testing::Values(ContractBackend{"Sqlite", make_sqlite_db}),
//                            user_export::testing::contract_backend_name);
//
// The suite writes only SQL that SQLite and PostgreSQL both accept: string literals with
// doubled quotes, `true`/`false`, no explicit user ids (they come from the identity column),
// booleans tested as `WHERE sent_to_matching_service`, and results read as counts or text.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "source/repository.hpp"
#include "support/fake_clock.hpp"

namespace user_export::testing {

/// One fresh, empty database of a backend, owned by one test. Not thread-safe except open():
/// repositories it returns follow the Repository contract.
class ContractDatabase {
 public:
  virtual ~ContractDatabase() = default;
  /// A new, independent Repository on this database (like another process would open); the
  /// suite keeps `clock` alive longer than the repository.
  virtual std::unique_ptr<Repository> open(Clock& clock) = 0;
  /// Executes one SQL statement directly, outside any repository.
  virtual void exec(const std::string& sql) = 0;
  /// The first column of the first row of a query, as text; nullopt for SQL NULL. Throws when
  /// the query fails or returns no row.
  virtual std::optional<std::string> query_one(const std::string& sql) = 0;
};

/// One backend under test.
struct ContractBackend {
  std::string name;  ///< test-name suffix, e.g. "Sqlite"
  /// A fresh empty database per call, or nullptr to skip the suite (backend not available).
  std::function<std::unique_ptr<ContractDatabase>()> make;
};

/// Prints the backend's name in test output.
void PrintTo(const ContractBackend& backend, std::ostream* os);

/// Names instantiated tests after the backend.
std::string contract_backend_name(const ::testing::TestParamInfo<ContractBackend>& info);

/// The fixture: a fresh, migrated database, a repository on it and a fake clock.
class RepositoryContract : public ::testing::TestWithParam<ContractBackend> {
 protected:
  void SetUp() override;

  /// A deterministic, distinct UUID text for `kind` (1 domain, 2 group, 3 user, 4 run) and n.
  static std::string uuid(int kind, std::uint64_t n);
  /// `text` as an SQL string literal.
  static std::string quote(std::string_view text);
  /// A run id as an SQL string literal.
  static std::string quote(const RunId& id) { return quote(id.view()); }

  /// Inserts a group and returns its id.
  std::string add_group(const std::string& domain, const std::string& type = "COST_BASED",
                        bool active = true);
  /// Inserts a user of `group` (optionally already sent) and returns its id.
  std::int64_t add_user(const std::string& group, bool sent = false);
  /// Whether the user is marked sent.
  bool is_sent(std::int64_t user_id);
  /// Users marked sent among `ids`.
  int sent_among(const std::vector<std::int64_t>& ids);
  /// The integer result of a count query.
  std::int64_t count(const std::string& sql);
  /// A claim of `group` for `slot` by `owner` with a fresh run id and a 300 s lease.
  ClaimRequest claim_request(const std::string& group, Slot slot, const std::string& owner);
  /// The user ids stream_rows() returns for the run, in order.
  std::vector<std::int64_t> streamed_ids(const RunId& run_id);
  /// A message for the outbox.
  OutboundMessage message(const RunId& run_id, const std::string& payload);
  /// Commits the run as `owner` with the given messages.
  void commit_run(const RunId& run_id, const std::string& owner,
                  std::vector<OutboundMessage> messages, bool mark_sent = true);
  /// A new group of one user, claimed by "x" for slot1_ and committed with one message for
  /// each payload; returns its run.
  ExportRun committed_run(const std::vector<std::string>& payloads);

  FakeClock clock_;
  std::unique_ptr<ContractDatabase> db_;
  std::unique_ptr<Repository> repo_;
  std::string domain_;
  Slot slot1_{std::chrono::seconds{1'767'225'600}};
  Slot slot2_{std::chrono::seconds{1'767'312'000}};
  std::uint64_t next_id_ = 1;
};

/// Runs `fn` and returns the code of the Error it throws (fails the test if none is thrown).
template <typename Fn>
std::optional<ErrorCode> error_code_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected user_export::Error, nothing was thrown";
  return std::nullopt;
}

/// Referenced from every file that includes this header so the linker keeps the suite's
/// tests (they register themselves from the static initialisers of the contract's files).
int repository_contract_anchor();
namespace {
[[maybe_unused]] const int kRepositoryContractAnchor = repository_contract_anchor();
}  // namespace

}  // namespace user_export::testing
