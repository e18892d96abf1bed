#include "exporter/lease_keeper.hpp"

#include "common/error.hpp"

namespace user_export {

LeaseKeeper::LeaseKeeper(Repository& repository, Clock& clock, std::string run_id,
                         std::string owner, std::chrono::seconds lease,
                         const std::atomic<bool>* cancel)
    : LeaseKeeper(repository, clock, std::vector<std::string>{std::move(run_id)}, std::move(owner),
                  lease, cancel) {}

LeaseKeeper::LeaseKeeper(Repository& repository, Clock& clock, std::vector<std::string> run_ids,
                         std::string owner, std::chrono::seconds lease,
                         const std::atomic<bool>* cancel)
    : repository_(repository),
      clock_(clock),
      run_ids_(std::move(run_ids)),
      owner_(std::move(owner)),
      lease_(lease),
      last_(clock.monotonic()),
      cancel_(cancel) {}

void LeaseKeeper::tick() {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    const std::string what = run_ids_.size() == 1
                                 ? "run " + run_ids_.front()
                                 : "batch of " + std::to_string(run_ids_.size()) + " runs";
    throw Error(ErrorCode::kInternal,
                what + " cancelled by shutdown; its claim is kept and the next start resumes it",
                false);
  }
  auto now = clock_.monotonic();
  if (now - last_ < lease_ / 3) return;
  for (const std::string& run_id : run_ids_) repository_.heartbeat(run_id, owner_, lease_);
  last_ = now;
}

}  // namespace user_export
