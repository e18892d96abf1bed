#include "exporter/lease_keeper.hpp"

#include "common/error.hpp"

namespace user_export {

LeaseKeeper::LeaseKeeper(Repository& repository, Clock& clock, std::string run_id,
                         std::string owner, std::chrono::seconds lease,
                         const std::atomic<bool>* cancel)
    : repository_(repository),
      clock_(clock),
      run_id_(std::move(run_id)),
      owner_(std::move(owner)),
      lease_(lease),
      last_(clock.monotonic()),
      cancel_(cancel) {}

void LeaseKeeper::tick() {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    throw Error(ErrorCode::kInternal,
                "run " + run_id_ +
                    " cancelled by shutdown; its claim is kept and the next start resumes it",
                false);
  }
  auto now = clock_.monotonic();
  if (now - last_ < lease_ / 3) return;
  repository_.heartbeat(run_id_, owner_, lease_);
  last_ = now;
}

}  // namespace user_export
