#include "exporter/lease_keeper.hpp"

#include "common/error.hpp"
#include "observe/log.hpp"

namespace user_export {

LeaseKeeper::LeaseKeeper(Repository& repository, const Clock& clock, Run run, OwnerId owner,
                         std::chrono::seconds lease, const std::atomic<bool>* cancel,
                         std::chrono::milliseconds poll)
    : LeaseKeeper(repository, clock, std::vector<Run>{std::move(run)}, std::move(owner), lease,
                  cancel, poll) {}

LeaseKeeper::LeaseKeeper(Repository& repository, const Clock& clock, std::vector<Run> runs,
                         OwnerId owner, std::chrono::seconds lease, const std::atomic<bool>* cancel,
                         std::chrono::milliseconds poll)
    : repository_(repository),
      clock_(clock),
      owner_(std::move(owner)),
      lease_(lease),
      cancel_(cancel),
      poll_(poll),
      last_ok_(clock.monotonic()),
      last_try_(last_ok_) {
  for (Run& run : runs) {
    auto kept = std::make_unique<Kept>();
    kept->run = std::move(run);
    runs_.push_back(std::move(kept));
  }
  thread_ = std::thread([this] { loop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LeaseKeeper::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      step();
    } catch (const std::exception& e) {  // never let the keeper's thread end the process
      log::warn("lease keeper step failed", {{"owner", owner_}, {"error", e.what()}});
    }
    lock.lock();
    wake_.wait_for(lock, poll_, [this] { return stopping_; });
  }
}

void LeaseKeeper::step() {
  if (cancel_ != nullptr && cancel_->load()) {
    for (auto& kept : runs_) kept->stop = true;
  }
  const auto now = clock_.monotonic();
  bool due;
  {
    std::lock_guard lock(renew_mu_);
    due = now - last_try_ >= lease_ / 3;
  }
  if (due) renew_now();
  std::lock_guard lock(renew_mu_);
  if (clock_.monotonic() - last_ok_ >= lease_) {
    for (auto& kept : runs_) {
      if (!kept->released && !kept->lost) {
        lose(*kept, "no renewal succeeded for a whole lease (" + std::to_string(lease_.count()) +
                        " s); another instance may have taken the run over");
      }
    }
  }
}

void LeaseKeeper::renew_now() {
  std::lock_guard lock(renew_mu_);
  const auto started = clock_.monotonic();
  last_try_ = started;
  bool all_ok = true;
  for (auto& kept : runs_) {
    if (kept->released || kept->lost) continue;
    try {
      repository_.heartbeat(kept->run.run_id, owner_, kept->run.attempt, lease_);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kLeaseLost) {
        lose(*kept, e.what());
      } else {
        all_ok = false;
        log::warn("could not renew a lease; retrying",
                  {{"run_id", kept->run.run_id}, {"owner", owner_}, {"error", e.what()}});
      }
    }
  }
  if (all_ok) last_ok_ = started;
}

void LeaseKeeper::lose(Kept& kept, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    kept.why = why;
  }
  kept.lost = true;
  kept.stop = true;
  if (committing_) {  // a renewal queued behind this attempt's own commit: the commit reports
    log::debug("a lease renewal found the run finished while its commit was in flight",
               {{"run_id", kept.run.run_id},
                {"attempt", kept.run.attempt},
                {"owner", owner_},
                {"reason", why}});
    return;
  }
  log::warn("lost the lease of a run; this attempt stops and never commits",
            {{"run_id", kept.run.run_id},
             {"attempt", kept.run.attempt},
             {"owner", owner_},
             {"reason", why}});
}

void LeaseKeeper::committing() {
  committing_ = true;
}

void LeaseKeeper::release(std::size_t index) {
  runs_.at(index)->released = true;
}

bool LeaseKeeper::lost(std::size_t index) const {
  return runs_.at(index)->lost.load();
}

const std::atomic<bool>* LeaseKeeper::stop_flag(std::size_t index) const {
  return &runs_.at(index)->stop;
}

void LeaseKeeper::throw_cancelled() const {
  const std::string what = runs_.size() == 1 ? "run " + runs_.front()->run.run_id.str()
                                             : "batch of " + std::to_string(runs_.size()) + " runs";
  throw Error(ErrorCode::kInternal,
              what + " cancelled by shutdown; its claim is kept and the next start resumes it",
              false);
}

void LeaseKeeper::throw_lost(const Kept& kept) const {
  std::string why;
  {
    std::lock_guard lock(mu_);
    why = kept.why;
  }
  throw Error(ErrorCode::kLeaseLost, "attempt " + std::to_string(kept.run.attempt) + " of run " +
                                         kept.run.run_id.str() + " lost its lease: " + why);
}

void LeaseKeeper::tick() const {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw_cancelled();
  for (const auto& kept : runs_) {
    if (kept->lost.load(std::memory_order_relaxed)) throw_lost(*kept);
  }
}

void LeaseKeeper::check(std::size_t index) const {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw_cancelled();
  const Kept& kept = *runs_.at(index);
  if (kept.lost.load()) throw_lost(kept);
}

}  // namespace user_export
