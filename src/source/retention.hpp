#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "domain/ids.hpp"

namespace user_export {

/// What Repository::prune() deletes: the finished history last changed before `older_than`.
struct PruneRequest {
  SystemTime older_than{};
  /// At most this many rows are deleted per transaction, so pruning a long history never holds
  /// one long transaction (or its locks) against the exporters and relays.
  std::int64_t batch_rows = 10'000;
  /// When set, prune() stops between two transactions once it reads true (a service shutting
  /// down); what it deleted so far stays deleted and is counted.
  const std::atomic<bool>* stop = nullptr;

  /// Whether `stop` asks prune() to stop.
  bool stopped() const { return stop != nullptr && stop->load(); }
};

/// The rows prune() deleted, per table.
struct PruneCounts {
  std::int64_t runs = 0;       ///< export_runs
  std::int64_t run_items = 0;  ///< export_run_items: (run, user) pairs of the runs' claims
  std::int64_t outbox = 0;     ///< export_outbox

  /// (table name, rows) for reports and metrics, in a fixed order.
  std::array<std::pair<std::string_view, std::int64_t>, 3> by_table() const {
    return {{{"export_runs", runs}, {"export_run_items", run_items}, {"export_outbox", outbox}}};
  }
  std::int64_t total() const { return runs + run_items + outbox; }
};

/// A finished run prune() may delete, with the number of users its claim recorded.
struct PrunableRun {
  RunId run_id;
  std::int64_t item_count = 0;
};

/// Throws Error(kInvalidInput) unless `request` is well-formed (every backend checks first).
void check_prune_request(const PruneRequest& request);

/// Splits `runs` into the groups a backend deletes one transaction each: a group's runs and
/// claimed users add up to at most `batch_rows` rows (a run counts as its users plus one). A
/// run larger than that is a group of its own; the backend deletes its claimed users in
/// batches before it deletes the run.
std::vector<std::vector<PrunableRun>> prune_groups(const std::vector<PrunableRun>& runs,
                                                   std::int64_t batch_rows);

/// The statements of a prune, one transaction each, that a backend provides to run_prune().
struct PruneSteps {
  /// Deletes up to `batch` delivered or dead-lettered messages older than the cutoff; how many.
  std::function<std::int64_t(std::int64_t batch)> delete_messages;
  /// Up to `batch` finished runs older than the cutoff, oldest first.
  std::function<std::vector<PrunableRun>(std::int64_t batch)> finished_runs;
  /// Deletes about `batch` rows of a large run's claim: (rows deleted, whether more may be left).
  std::function<std::pair<std::int64_t, bool>(const RunId& run_id, std::int64_t batch)>
      delete_claim_part;
  /// Deletes the runs of one group (and what is left of their claims and messages), adding to
  /// `counts`; a run found unfinished meanwhile is skipped.
  std::function<void(const std::vector<PrunableRun>& group, PruneCounts& counts)> delete_runs;
};

/// Prune's loop, the same on every backend: the old delivered messages batch by batch, then the
/// finished runs group by group (prune_groups), a large run's claim in parts first. Stops between
/// transactions once `request.stopped()`; a large run whose claim is half deleted stays finished
/// and is taken up by the next prune.
PruneCounts run_prune(const PruneRequest& request, const PruneSteps& steps);

}  // namespace user_export
