// Step 4 begun while the attempt still streams (docs/ARCHITECTURE.md, "Marking while
// streaming"): the claimed users are marked, on a thread of this object's own, in a
// transaction left open, and the commit finishes that transaction once the file is stored.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/run_sql.hpp"

namespace user_export {
namespace {

class PgOpenCommit final : public OpenCommit {
 public:
  /// `write_commit` is PostgresRepository::write_fenced_commit() without the marking.
  PgOpenCommit(pg::Pool::Lease connection, std::unique_ptr<pg::Transaction> transaction,
               RunId run_id, int attempt, pg::ClaimedRun run,
               std::function<void(pg::Connection&, const CommitRequest&)> write_commit)
      : connection_(std::move(connection)),
        transaction_(std::move(transaction)),
        run_id_(std::move(run_id)),
        attempt_(attempt),
        run_(std::move(run)),
        write_commit_(std::move(write_commit)),
        cancel_(PQgetCancel(connection_->raw())) {
    marker_ = std::thread([this] {
      try {
        if (stopping_.load()) throw Error(ErrorCode::kInternal, "the attempt ended first");
        pg::mark_claimed_users(*connection_, run_id_, run_);
      } catch (...) {
        marking_failed_ = std::current_exception();
      }
      marked_.store(true);
    });
  }

  PgOpenCommit(const PgOpenCommit&) = delete;
  PgOpenCommit& operator=(const PgOpenCommit&) = delete;

  // A run that failed need not wait for its marking: the statement is cancelled, then the
  // transaction rolled back (transaction_), then the connection returned (connection_).
  ~PgOpenCommit() override {
    if (marker_.joinable()) {
      stopping_.store(true);
      // A cancel that reaches the session between two statements is ignored: repeat it until
      // the marking has ended.
      while (!marked_.load() && cancel_ != nullptr) {
        char why[256];
        PQcancel(cancel_, why, sizeof why);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      marker_.join();
    }
    if (cancel_ != nullptr) PQfreeCancel(cancel_);
  }

  bool finish(const CommitRequest& request) override {
    if (marker_.joinable()) marker_.join();
    if (marking_failed_ || finished_ || request.run_id != run_id_ || request.attempt != attempt_ ||
        !request.mark_sent) {
      return false;  // nothing of this transaction will commit: the caller commits as usual
    }
    finished_ = true;
    try {
      // The same fencing as commit(). An attempt that took the run over and now waits for
      // these marks holds the run row, but the row no longer matches this owner and token once
      // the takeover is committed, so the check does not wait for it (a takeover still
      // uncommitted does not wait for the marks).
      write_commit_(*connection_, request);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kLeaseLost) throw;
      // Failed before COMMIT was sent (e.g. the server ended the session while it sat idle):
      // it commits nothing, ever. Its destructor rolls it back, or the pool closes the session.
      return false;
    }
    fault_point("inside_commit");  // the run's row and users locked, nothing committed yet
    transaction_->commit();
    return true;
  }

 private:
  pg::Pool::Lease connection_;  // declared first: the transaction ends before it goes back
  std::unique_ptr<pg::Transaction> transaction_;
  RunId run_id_;
  int attempt_;
  pg::ClaimedRun run_;
  std::function<void(pg::Connection&, const CommitRequest&)> write_commit_;
  PGcancel* cancel_;
  std::thread marker_;
  std::atomic<bool> stopping_{false};  ///< the object is ending: the marking need not start
  std::atomic<bool> marked_{false};
  std::exception_ptr marking_failed_;  ///< written by marker_ before it ends
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<OpenCommit> PostgresRepository::begin_commit(const RunId& run_id,
                                                             const OwnerId& owner, int attempt,
                                                             std::chrono::milliseconds idle_limit) {
  // Optional work, like the claim's snapshot: never wait for a connection, and leave one for
  // the lease keepers and the commits.
  std::optional<pg::Pool::Lease> connection = pool_.try_acquire(1);
  if (!connection) return nullptr;
  auto transaction = std::make_unique<pg::Transaction>(**connection, idle_limit);
  std::optional<pg::ClaimedRun> run =
      pg::read_live_lease(**connection, run_id, owner, attempt, clock_.now());
  if (!run) return nullptr;
  return std::make_unique<PgOpenCommit>(std::move(*connection), std::move(transaction), run_id,
                                        attempt, std::move(*run),
                                        [this](pg::Connection& c, const CommitRequest& request) {
                                          write_fenced_commit(c, request, false);
                                        });
}

}  // namespace user_export
