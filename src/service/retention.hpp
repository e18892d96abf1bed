#pragma once

#include <atomic>
#include <chrono>

#include "common/clock.hpp"
#include "observe/metrics.hpp"
#include "source/run_history.hpp"

namespace user_export {

/// When the service prunes: first shortly after start-up, then once a day.
struct RetentionOptions {
  int days = 30;                             ///< `[retention] days`: history older is deleted
  std::chrono::seconds first_after{60};      ///< the first prune, after start-up
  std::chrono::seconds interval{24 * 3600};  ///< between prunes
  std::chrono::seconds retry_after{3600};    ///< after a failed prune
  std::int64_t batch_rows = 10'000;          ///< rows per transaction
  const std::atomic<bool>* stop = nullptr;   ///< when set and true, a prune stops between batches
};

/// Applies the retention period to the database: deletes the finished history older than
/// `days` (Repository::prune), logs one structured line saying what it deleted and adds it to
/// `users_export_pruned_rows_total{table}`. Thread-compatible: one thread drives it.
class Retention {
 public:
  /// Keeps references to `repository`, `clock` and `metrics`; the first prune is due
  /// `options.first_after` from now.
  Retention(RunHistory& repository, Clock& clock, Metrics& metrics, RetentionOptions options);

  /// Prunes now, history older than `days` days (default: the options'); throws what prune()
  /// throws.
  PruneCounts prune_now();
  PruneCounts prune_now(int days);

  /// Prunes if it is due; a failure is logged and retried `retry_after` later. Returns whether
  /// it pruned successfully.
  bool run_if_due();
  /// When run_if_due() prunes next.
  SystemTime next_due() const { return next_due_; }

 private:
  RunHistory& repository_;
  Clock& clock_;
  Metrics& metrics_;
  RetentionOptions options_;
  SystemTime next_due_;
};

}  // namespace user_export
