// The backend-independent part of retention: request checks and the grouping of finished runs
// into bounded transactions.
#include "source/retention.hpp"

#include "common/error.hpp"

namespace user_export {

void check_prune_request(const PruneRequest& request) {
  if (request.batch_rows < 1) {
    throw Error(ErrorCode::kInvalidInput, "prune needs a positive batch size, got " +
                                              std::to_string(request.batch_rows) + " rows");
  }
}

std::vector<std::vector<PrunableRun>> prune_groups(const std::vector<PrunableRun>& runs,
                                                   std::int64_t batch_rows) {
  std::vector<std::vector<PrunableRun>> groups;
  std::vector<PrunableRun> current;
  std::int64_t rows = 0;
  for (const PrunableRun& run : runs) {
    const std::int64_t cost = run.item_count + 1;
    if (!current.empty() && rows + cost > batch_rows) {
      groups.push_back(std::move(current));
      current.clear();
      rows = 0;
    }
    current.push_back(run);
    rows += cost;
  }
  if (!current.empty()) groups.push_back(std::move(current));
  return groups;
}

PruneCounts run_prune(const PruneRequest& request, const PruneSteps& steps) {
  check_prune_request(request);
  const std::int64_t batch = request.batch_rows;
  PruneCounts counts;
  for (;;) {
    const std::int64_t n = steps.delete_messages(batch);
    counts.outbox += n;
    if (n < batch || request.stopped()) break;
  }
  for (;;) {
    if (request.stopped()) break;
    const std::vector<PrunableRun> runs = steps.finished_runs(batch);
    if (runs.empty()) break;
    const std::int64_t runs_before = counts.runs;
    for (const std::vector<PrunableRun>& group : prune_groups(runs, batch)) {
      if (request.stopped()) break;
      if (group.size() == 1 && group.front().item_count >= batch) {
        for (;;) {
          const auto [deleted, more] = steps.delete_claim_part(group.front().run_id, batch);
          counts.run_items += deleted;
          if (!more || request.stopped()) break;
        }
      }
      if (request.stopped()) break;  // a large run's claim may be half deleted: it stays finished
      steps.delete_runs(group, counts);
    }
    // Runs listed but not deleted (another pruner got there first, or a message of theirs is
    // still pending) would be listed again: stop rather than loop.
    if (counts.runs == runs_before) break;
  }
  return counts;
}

}  // namespace user_export
