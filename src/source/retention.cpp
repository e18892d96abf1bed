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

}  // namespace user_export
