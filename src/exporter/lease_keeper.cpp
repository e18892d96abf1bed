#include "exporter/lease_keeper.hpp"

namespace user_export {

LeaseKeeper::LeaseKeeper(Repository& repository, Clock& clock, std::string run_id,
                         std::string owner, std::chrono::seconds lease)
    : repository_(repository),
      clock_(clock),
      run_id_(std::move(run_id)),
      owner_(std::move(owner)),
      lease_(lease),
      last_(clock.monotonic()) {}

void LeaseKeeper::tick() {
  auto now = clock_.monotonic();
  if (now - last_ < lease_ / 3) return;
  repository_.heartbeat(run_id_, owner_, lease_);
  last_ = now;
}

}  // namespace user_export
