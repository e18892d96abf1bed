#include "exporter/export_batch.hpp"

#include <future>

namespace user_export {

std::vector<GroupResult> export_groups(ExportService& service, WorkerPool& pool,
                                       const std::vector<MatchingGroup>& groups, Slot slot,
                                       const std::function<void(const GroupResult&)>& on_done) {
  std::vector<GroupResult> results(groups.size());
  std::vector<std::future<void>> futures;
  futures.reserve(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    futures.push_back(pool.submit([&, i] {
      results[i] = service.export_group(groups[i], slot);
      if (on_done) on_done(results[i]);
    }));
  }
  for (auto& f : futures) f.get();  // export_group reports failures in its result, never throws
  return results;
}

}  // namespace user_export
