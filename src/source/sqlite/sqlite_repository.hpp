#pragma once

// The Repository on an SQLite file: the embedded default for the demo, tests and single-node
// installs. Decisions specific to SQLite:
//
// - URL `sqlite:///absolute/path.db` (percent-escapes decoded, no query string); the file and
//   its parent directory are created when missing.
// - Every connection runs in WAL mode (readers never block the writer, so a long stream_rows
//   runs beside claims and commits), with foreign keys on, `synchronous=FULL` (a commit is
//   durable before it returns: the outbox promise) and a 10 s busy timeout.
// - Thread safety: one connection per concurrent caller from a small pool (connections are
//   opened on demand, a few idle ones are kept). Write transactions are BEGIN IMMEDIATE, so
//   writers queue on SQLite's write lock instead of failing half-way on a lock upgrade; a
//   transaction that still meets SQLITE_BUSY is retried, then reported as a retriable
//   Error(kDatabase).
// - stream_rows() walks export_run_items' (run_id, user_id) primary key, so rows come out in
//   user id order without a sort: memory stays constant whatever the size of the run.
// - migrate() runs all pending migrations in one BEGIN IMMEDIATE transaction, so two processes
//   migrating at once serialise and the second finds nothing to do.
// - Types: UUIDs are canonical lower-case text, booleans 0/1, the reference schema's timestamps
//   `YYYY-MM-DD HH:MM:SS` text, the exporter tables' instants integer milliseconds since the
//   epoch (read from the injected Clock, never from SQLite's own clock).
// - Leases: a lease is live while `lease_expires_at > now`. Commit and complete_empty require a
//   live lease held by the caller (fencing). record_failure requires only that the caller is
//   still the recorded holder (an expired lease nobody took over may still be released);
//   otherwise it throws Error(kLeaseLost) and changes nothing.
// - The outbox: mark_all_published, mark_dead_lettered and record_publish_failure are no-ops for a
//   message that is no longer pending (a relay may repeat itself after a crash); an unknown
//   outbox id is Error(kInvalidInput). claim_messages picks and claims in one BEGIN IMMEDIATE
//   transaction, so relays of several processes on one file never claim the same message.
// - seed() loads everything in one transaction with `synchronous=OFF`, foreign-key checks off
//   (rows are consistent by construction) and a larger page cache, then restores them and
//   truncates the WAL. 1,000,000 users with their profiles take about 4 s of CPU. Seeding
//   the same random seed twice into one database is refused (the generated ids would collide).

#include <memory>
#include <span>
#include <string>

#include "common/clock.hpp"
#include "source/repository.hpp"
#include "source/sqlite/sqlite_connection.hpp"

namespace user_export {

/// Tuning of the SQLite backend; the defaults suit production.
struct SqliteOptions {
  /// How long a connection waits for another connection's write lock before SQLITE_BUSY.
  /// SQLite has one writer at a time, and the claim or commit of a group of millions of
  /// users holds the lock for a minute or more: waiting is the backend's way of queueing, so
  /// the wait is as long as a run's default lease (five minutes). With ten seconds, four
  /// groups of 2.5M users exported side by side failed their attempts on the lock and threw
  /// the streamed work away (docs/ARCHITECTURE.md, "SQLite: one writer at a time").
  std::chrono::milliseconds busy_timeout{300'000};
  /// Idle connections kept for reuse; more are opened while more callers run at once.
  std::size_t max_idle_connections = 8;
  /// For read-only commands (`plan`, `verify`): the database file must exist, nothing is
  /// created, and the files are left byte for byte as they were (sqlite::Connection). Writing
  /// methods then fail.
  bool read_only = false;
};

/// Repository on an SQLite database file. Thread-safe: every method may be called concurrently.
class SqliteRepository final : public Repository {
 public:
  /// Opens (creating it and its parent directory if missing) the database at the absolute
  /// `path`. Throws Error(kDatabase) when it cannot. `clock` must outlive the repository.
  SqliteRepository(std::string path, Clock& clock, SqliteOptions options = {});

  /// The file path of a `sqlite:///absolute/path.db` URL; Error(kConfig) for anything else.
  static std::string path_from_url(const std::string& url);

  /// The database file.
  const std::string& path() const { return path_; }
  /// The SELECT stream_rows() runs for `fields` (already checked against known_source_fields),
  /// with the run id as parameter 1. Exposed so tests can check SQLite's plan for it.
  static std::string stream_query(const std::vector<std::string>& fields);

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

 private:
  /// Moves pending outbox messages to `state` and completes each run with nothing pending.
  void finish_messages(std::span<const std::int64_t> outbox_ids, const char* state,
                       const std::string* reason);

  std::string path_;
  Clock& clock_;
  sqlite::ConnectionPool pool_;
};

}  // namespace user_export
