#pragma once

#include <functional>
#include <vector>

#include "exporter/export_service.hpp"
#include "schedule/worker_pool.hpp"

namespace user_export {

/// Runs every group's export for `slot` on the pool, in parallel up to the pool's size, and
/// waits for all of them (the seed's allOf().join()). Where the repository can, cost-based
/// groups are shared out in batches (ExportService::export_batch), about one per worker. One
/// group's failure never stops the others. `on_done` is called from worker threads as each group
/// finishes (progress display); it must be thread-safe. Results come back in the order of `groups`.
std::vector<GroupResult> export_groups(ExportService& service, WorkerPool& pool,
                                       const std::vector<MatchingGroup>& groups, Slot slot,
                                       const std::function<void(const GroupResult&)>& on_done);

}  // namespace user_export
