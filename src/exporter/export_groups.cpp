#include "exporter/export_groups.hpp"

#include <algorithm>
#include <future>

namespace user_export {

std::vector<GroupResult> export_groups(ExportService& service, WorkerPool& pool,
                                       const std::vector<MatchingGroup>& groups, Slot slot,
                                       const std::function<void(const GroupResult&)>& on_done) {
  std::vector<GroupResult> results(groups.size());
  std::vector<std::future<void>> futures;
  // Cost-based groups go in batches (where the repository can batch them), the rest one by one.
  std::vector<std::size_t> batchable;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (parse_group_type(groups[i].type_name) == GroupType::kCostBased) batchable.push_back(i);
  }
  const std::size_t size = service.batch_size(batchable.size(), pool.threads());
  if (size < 2) batchable.clear();
  for (std::size_t start = 0; start < batchable.size(); start += size) {
    std::vector<std::size_t> members(
        batchable.begin() + static_cast<std::ptrdiff_t>(start),
        batchable.begin() + static_cast<std::ptrdiff_t>(std::min(start + size, batchable.size())));
    futures.push_back(pool.submit([&, members] {
      std::vector<MatchingGroup> batch;
      for (std::size_t i : members) batch.push_back(groups[i]);
      std::vector<GroupResult> batch_results = service.export_batch(batch, slot, on_done);
      for (std::size_t k = 0; k < members.size(); ++k) {
        results[members[k]] = std::move(batch_results[k]);
      }
    }));
  }
  std::vector<bool> in_batch(groups.size(), false);
  for (std::size_t i : batchable) in_batch[i] = true;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (in_batch[i]) continue;
    futures.push_back(pool.submit([&, i] {
      results[i] = service.export_group(groups[i], slot);
      if (on_done) on_done(results[i]);
    }));
  }
  for (auto& f : futures) f.get();  // export_group reports failures in its result, never throws
  return results;
}

}  // namespace user_export
