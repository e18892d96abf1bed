#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "source/postgres/pg_pool.hpp"
#include "source/postgres/pg_url.hpp"
#include "source/repository.hpp"

namespace user_export {

/// The Repository on PostgreSQL (libpq), for production and for several instances sharing one
/// database. Thread-safe: each call borrows a connection from a pool. Times written to
/// the exporter's tables (leases, outbox schedule) come from the injected Clock, so the clock,
/// not the server, decides whether a lease is live. See docs/POSTGRES.md for how claim, stream
/// and commit use PostgreSQL's snapshots and locks.
class PostgresRepository final : public Repository {
 public:
  /// Connects lazily to `url` (`postgresql://…`, see pg::parse_url), keeping up to `pool_size`
  /// idle connections (0 = the URL's `pool_size`, else 4). `clock` must outlive this object.
  /// Throws Error(kConfig) for a malformed URL.
  PostgresRepository(const std::string& url, Clock& clock, std::size_t pool_size = 0);

  void migrate() override;
  int schema_version() override;
  std::vector<MatchingGroup> active_groups(const DomainId& domain) override;
  std::optional<MatchingGroup> find_group(const GroupId& id) override;
  ExportRun claim(const ClaimRequest& request) override;
  void heartbeat(const RunId& run_id, const OwnerId& owner, int attempt,
                 std::chrono::seconds lease) override;
  void stream_rows(const RunId& run_id, const std::vector<std::string>& fields,
                   RowHandler& handler) override;
  void record_failure(const RunId& run_id, const OwnerId& owner, int attempt,
                      const std::string& error) override;
  void complete_empty(const RunId& run_id, const OwnerId& owner, int attempt) override;
  void stage_part(const RunId& run_id, const OwnerId& owner, int attempt, int number,
                  const OutboundMessage& part) override;
  void commit(const CommitRequest& request) override;
  std::unique_ptr<OpenCommit> begin_commit(const RunId& run_id, const OwnerId& owner, int attempt,
                                           std::chrono::milliseconds idle_limit) override;
  bool supports_batches() const override { return true; }
  std::vector<ExportRun> claim_batch(const BatchClaimRequest& request) override;
  void stream_batch(const std::vector<RunId>& run_ids, const std::vector<std::string>& fields,
                    BatchRowHandler& handler) override;
  std::vector<std::optional<Error>> commit_batch(
      const std::vector<CommitRequest>& requests) override;
  std::vector<OutboundMessage> pending_messages(std::size_t limit) override;
  using Repository::claim_messages;
  std::vector<OutboundMessage> claim_messages(std::size_t limit, const OwnerId& owner,
                                              std::chrono::seconds lease,
                                              std::size_t max_bytes) override;
  std::int64_t release_message_claims(
      const std::function<bool(const OwnerId& owner)>& owner_is_dead) override;
  std::int64_t pending_count() override;
  void mark_all_published(std::span<const std::int64_t> outbox_ids) override;
  void mark_dead_lettered(std::int64_t outbox_id, const std::string& reason) override;
  void record_publish_failure(std::int64_t outbox_id, const std::string& error,
                              SystemTime next_attempt) override;
  std::vector<ExportRun> list_runs(const RunFilter& filter) override;
  std::int64_t replay_run(const RunId& run_id, const std::string& actor,
                          const std::string& reason) override;
  std::int64_t reexport_run(const RunId& run_id, const std::string& actor,
                            const std::string& reason) override;
  std::vector<RunAction> run_actions(const RunId& run_id) override;
  std::vector<ExportRun> runs_to_sweep(SystemTime since, std::int64_t min_bytes,
                                       std::size_t limit) override;
  std::optional<ExportRun> find_run(const RunId& run_id) override;
  std::int64_t claimed_users_remaining(const RunId& run_id) override;
  std::optional<ExportRun> unfinished_run(const GroupId& group) override;
  std::int64_t claimable_users(const GroupId& group) override;
  void stream_claimable(const GroupId& group, const std::vector<std::string>& fields,
                        RowHandler& handler) override;
  FileRunTotals file_run_totals(const std::optional<GroupId>& group) override;
  std::vector<ExportRun> finished_runs_since(SystemTime since) override;
  std::int64_t claimed_users_sent(const RunId& run_id) override;
  std::vector<RunMessage> run_messages(const RunId& run_id) override;
  void seed(const SeedPlan& plan, const ProgressFn& progress) override;
  PruneCounts prune(const PruneRequest& request) override;

  /// The connection pool (tests use it to reach the same database).
  pg::Pool& pool() { return pool_; }

 private:
  PostgresRepository(const pg::UrlSettings& settings, Clock& clock, std::size_t pool_size);
  void finish_messages(std::span<const std::int64_t> outbox_ids, const char* state,
                       const std::string* reason);

  /// A read-only REPEATABLE READ transaction that imported the snapshot a new claim was taken
  /// in, kept from claim() to the run's first stream_rows() (or from claim_batch() to
  /// stream_batch(), under the batch's first run id): streaming the groups' claimable users
  /// under that snapshot reads exactly the claimed users straight from `users`, without
  /// joining the claim (docs/POSTGRES.md, "Claim").
  struct ClaimSnapshot {
    std::vector<GroupId> group_ids;  ///< the claim's groups, in run order
    std::int64_t item_count = 0;
    std::chrono::steady_clock::time_point taken;
    std::unique_ptr<pg::Pool::Lease> connection;
  };
  /// Opens a transaction on the snapshot `snapshot_id` (from pg_export_snapshot(), whose
  /// transaction must still be open); null if that fails (the stream then reads the claim).
  std::unique_ptr<ClaimSnapshot> import_snapshot(const std::string& snapshot_id,
                                                 std::vector<GroupId> group_ids,
                                                 std::int64_t item_count);
  /// Keeps `snapshot` for run `run_id`, and lets go of any kept longer than a minute (their
  /// runs were never streamed here, e.g. a failed attempt).
  void keep_snapshot(const RunId& run_id, std::unique_ptr<ClaimSnapshot> snapshot);
  /// The snapshot kept for `run_id`, removed from the map; null if there is none.
  std::unique_ptr<ClaimSnapshot> take_snapshot(const RunId& run_id);
  /// Step 4's writes in the caller's transaction on `c`, up to COMMIT: the fenced check of the
  /// lease, which locks the run row (Error(kLeaseLost) when it fails), the release of the run's
  /// kept snapshot, the marking of its users when `mark`, then the file, messages and state.
  /// commit() and a commit begun during the stream (postgres_open_commit.cpp) both end so.
  void write_fenced_commit(pg::Connection& c, const CommitRequest& request, bool mark);

  Clock& clock_;
  pg::Pool pool_;
  std::mutex snapshots_mu_;
  std::map<RunId, std::unique_ptr<ClaimSnapshot>> snapshots_;  // by run id; after pool_
};

/// Opens the PostgreSQL backend for `url`; nothing is connected until first use.
std::unique_ptr<Repository> make_postgres_repository(const std::string& url, Clock& clock);

}  // namespace user_export
