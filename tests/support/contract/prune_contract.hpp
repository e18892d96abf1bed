#pragma once

// The retention part of the Repository contract. A backend's test file instantiates it beside
// RepositoryContract, with the same factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, PruneContract, ::testing::Values(backend),
//                            user_export::testing::contract_backend_name);

#include <cstdint>
#include <string>
#include <vector>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

/// RepositoryContract with helpers that build finished and unfinished history.
class PruneContract : public RepositoryContract {
 protected:
  /// A group of `users` unsent users, claimed by "x" for slot1_.
  ExportRun claimed_run(int users);
  /// A run of `users` users committed with messages `payloads`, all of them published now.
  ExportRun completed_run(int users, const std::vector<std::string>& payloads);
  /// Publishes the run's pending messages.
  void publish_pending_of(const RunId& run_id);
  /// Rows of export_runs with this id (0 or 1).
  std::int64_t runs_with_id(const RunId& run_id);
  /// The run's claimed users in export_run_items.
  std::int64_t items_of(const RunId& run_id);
  /// The run's outbox rows in `state`.
  std::int64_t messages_of(const RunId& run_id, const std::string& state);
  /// prune() with cutoff `cutoff` and `batch_rows` rows per transaction.
  PruneCounts prune_before(SystemTime cutoff, std::int64_t batch_rows = 2);
};

}  // namespace user_export::testing
