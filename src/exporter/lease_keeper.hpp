#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Keeps the leases of an attempt's runs alive from the claim until the attempt ends — through
/// the stream, the upload and the commit — on a thread of its own, and says when a lease is
/// lost (docs/ARCHITECTURE.md, "One writer per run").
///
/// Every `poll` the thread looks at the injected clock: once a third of the lease has passed
/// since the last renewal it renews every run it keeps (Repository::heartbeat with the run's
/// fencing token). A run whose renewal answers kLeaseLost is lost at once. When renewals keep
/// failing (the database is down) and a whole lease has passed since the last one that
/// succeeded, every run is lost: another instance may take them over from then on. A lost run,
/// and every run once `cancel` reads true, has its stop flag set; an upload given that flag
/// stops within a second, and tick()/check() throw, so the attempt never uploads or commits
/// again. A process that was paused finds, as soon as it runs again, that its lease is past.
/// A keeper of a batch keeps the leases of all its runs. Thread-safe.
class LeaseKeeper {
 public:
  /// One leased run: its id and the fencing token its claim returned (ExportRun::attempts).
  struct Run {
    RunId run_id;
    int attempt = 0;
  };

  /// Starts keeping `runs` leased by `owner` for `lease` at a time. `cancel` (optional) is the
  /// shutdown flag. `poll` is how often the thread wakes (real time).
  LeaseKeeper(Repository& repository, const Clock& clock, std::vector<Run> runs, OwnerId owner,
              std::chrono::seconds lease, const std::atomic<bool>* cancel = nullptr,
              std::chrono::milliseconds poll = std::chrono::milliseconds{200});
  /// The same for one run.
  LeaseKeeper(Repository& repository, const Clock& clock, Run run, OwnerId owner,
              std::chrono::seconds lease, const std::atomic<bool>* cancel = nullptr,
              std::chrono::milliseconds poll = std::chrono::milliseconds{200});
  /// Stops the thread (renewals end; the leases run out unless committed or released).
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  /// Cheap (atomic loads; called every few thousand rows): throws a non-retriable
  /// Error(kInternal) "… cancelled by shutdown" once `cancel` reads true, and Error(kLeaseLost)
  /// once any kept run's lease is lost.
  void tick() const;
  /// The same for run `index` alone.
  void check(std::size_t index) const;
  /// Whether run `index`'s lease is lost.
  bool lost(std::size_t index = 0) const;
  /// Turns true once run `index`'s lease is lost or shutdown began: an upload's cancel flag.
  const std::atomic<bool>* stop_flag(std::size_t index = 0) const;
  /// Stops renewing run `index` (it was committed, or left the batch).
  void release(std::size_t index);
  /// The attempt's commit is in flight. A renewal that waited for the database while the
  /// commit ran finds the run already committed; from now on a lost lease is still recorded
  /// (lost() and the stop flags) but not reported as "this attempt never commits": the commit
  /// is fenced and itself says whether it committed or found the lease lost.
  void committing();
  /// Renews every kept run now, on the calling thread (what the thread does when due); for
  /// tests and for a caller about to do something long.
  void renew_now();

 private:
  struct Kept {
    Run run;
    std::atomic<bool> lost{false};
    std::atomic<bool> stop{false};
    std::atomic<bool> released{false};
    std::string why;  ///< why it was lost (guarded by mu_)
  };

  void loop();
  /// One look at the clock: renews when due, declares runs lost. Called with mu_ not held.
  void step();
  void lose(Kept& kept, const std::string& why);
  [[noreturn]] void throw_lost(const Kept& kept) const;
  [[noreturn]] void throw_cancelled() const;

  Repository& repository_;
  const Clock& clock_;
  OwnerId owner_;
  std::chrono::seconds lease_;
  const std::atomic<bool>* cancel_;
  std::chrono::milliseconds poll_;
  std::vector<std::unique_ptr<Kept>> runs_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> committing_{false};
  std::mutex renew_mu_;  ///< one renewal at a time (the thread or renew_now())
  std::chrono::steady_clock::time_point last_ok_;  ///< start of the last successful renewal
  std::chrono::steady_clock::time_point last_try_;
  std::thread thread_;
};

}  // namespace user_export
