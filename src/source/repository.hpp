#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "domain/exported_file.hpp"
#include "domain/group.hpp"
#include "domain/message.hpp"
#include "domain/run.hpp"
#include "source/retention.hpp"

namespace user_export {

/// The source fields a CSV column may name (the reference schema's users and profiles joined):
/// id, ref_id, username, email, phone, group_id, created_at, display_name, gender,
/// date_of_birth, city, bio, interests. Values are the database's text forms; timestamps as
/// `YYYY-MM-DD HH:MM:SS`, dates as `YYYY-MM-DD`.
const std::vector<std::string>& known_source_fields();

/// One streamed row: one entry per requested column, nullopt for SQL NULL. The views are valid
/// only during the callback.
using RowView = std::span<const std::optional<std::string_view>>;

/// Receives streamed rows. Throwing from on_row aborts the stream (the exception propagates).
class RowHandler {
 public:
  virtual ~RowHandler() = default;
  virtual void on_row(RowView row) = 0;
};

/// What claim() needs.
struct ClaimRequest {
  GroupId group_id;
  DomainId domain_id;
  Slot slot{};
  std::string owner;                ///< this instance's lease-owner name
  std::chrono::seconds lease{300};  ///< how long the lease lasts without heartbeat
  std::string new_run_id;           ///< run id to use if a new run is created (UUID text)
  /// Optional: whether a lease owner is known to be dead (a crashed process on this host).
  /// A live lease held by an owner for which this returns true is taken over like an expired
  /// one, so a restart after a crash need not wait for the lease to run out.
  std::function<bool(const std::string& owner)> owner_is_dead;
  /// True (the service's scheduled slots): one run per group and slot; a finished run of the
  /// slot means there is nothing to do. False (a one-shot export, whose slot is merely the
  /// current second): when the slot's run is finished, the new run takes the latest earlier
  /// second that has no run of the group, so an export started in the same second as the
  /// previous one still exports what is unsent now — and never takes a later second, which
  /// could be a scheduled slot.
  bool once_per_slot = true;
};

/// What claim_batch() needs: new runs for several groups of one domain and slot at once.
struct BatchClaimRequest {
  std::vector<GroupId> groups;  ///< distinct groups
  DomainId domain_id;
  Slot slot{};
  std::string owner;                     ///< this instance's lease-owner name
  std::chrono::seconds lease{300};       ///< how long each run's lease lasts without heartbeat
  std::vector<std::string> new_run_ids;  ///< one UUID text per group, in the same order
  /// A group with more claimable users than this is left out (exported on its own).
  std::int64_t max_users_per_group = 10'000;
};

/// Throws Error(kInvalidInput) unless a claim by `owner` with `lease` and new run id
/// `new_run_id` is well-formed (every backend's claim() and claim_batch() check this first).
void check_claim_request(const std::string& owner, std::chrono::seconds lease,
                         const std::string& new_run_id);

/// Receives the rows of several runs, one run after the other (stream_batch()).
class BatchRowHandler : public RowHandler {
 public:
  /// The rows that follow belong to run `index` of stream_batch()'s run ids. Called once for
  /// every run, in ascending order, also for a run that streams no row.
  virtual void begin_run(std::size_t index) = 0;
};

/// What commit() writes in one transaction.
struct CommitRequest {
  std::string run_id;
  std::string owner;  ///< must still hold the run's lease
  int attempt = 0;    ///< the fencing token: the run's `attempts` when this owner claimed it
  bool mark_sent = true;
  std::optional<ExportedFile> file;       ///< the uploaded file of a cost-based run
  std::vector<OutboundMessage> messages;  ///< inserted into the outbox, in order
  /// The parts this attempt stored with stage_part(), numbered 1..staged_parts; moved into the
  /// outbox after `messages`, with kPartsPlaceholder filled in. The commit fails (changing
  /// nothing) unless exactly these parts are stored.
  int staged_parts = 0;
};

/// Which runs list_runs() returns: every condition given must hold.
struct RunFilter {
  std::optional<GroupId> group;     ///< only this group's runs
  std::optional<RunState> state;    ///< only runs in this state
  std::optional<SystemTime> since;  ///< only runs created at or after this instant
  std::size_t limit = 100;          ///< at most this many, newest first
};

/// What an operator does to a finished run (docs/OPERATIONS.md).
enum class RunActionKind {
  kReplay,    ///< its messages were queued again
  kReexport,  ///< its users still marked sent were set back to unsent
};
/// `replay`, `reexport`.
const char* to_string(RunActionKind kind);
/// The header a replayed copy of a message carries, valued with the operator's reason; the
/// original message has none.
inline constexpr const char* kReplayHeader = "replay";

/// An operator's action on a run, as recorded for audit.
struct RunAction {
  std::string run_id;
  RunActionKind kind = RunActionKind::kReplay;
  std::string actor;       ///< who asked: `cli:user@host` or `admin-api:address`
  std::string reason;      ///< why, in the operator's words
  std::int64_t count = 0;  ///< messages queued again, or users set back to unsent
  SystemTime at{};
};

/// Throws Error(kInvalidInput), in one sentence naming the run and what to do instead, unless
/// an operator action `kind` may act on a run in `state` (stored as `state_text`): a replay
/// needs a run that queued messages (`committed` or `completed`), a re-export a run that
/// marked users (`committed` or `completed`). Every backend checks this inside the action's
/// transaction.
void check_run_action(const std::string& run_id, const std::string& state_text, RunActionKind kind);
/// The canonical (lower-case) text of a run id given by an operator; Error(kInvalidInput)
/// naming it when it is not a UUID.
std::string canonical_run_id(const std::string& text);
/// Error(kInvalidInput): there is no run `run_id`.
[[noreturn]] void throw_unknown_run(const std::string& run_id);
/// Throws Error(kInvalidInput) unless an action by `actor` for `reason` is well-formed (both
/// non-empty, the reason at most 1,000 bytes).
void check_run_action_request(const std::string& actor, const std::string& reason);

/// Synthetic data for `seed` and `demo`.
struct SeedPlan {
  DomainId domain_id;
  std::int64_t users = 1000;
  int groups = 2;  ///< alternate COST_BASED, NON_COST_BASED; users spread evenly
  std::uint64_t random_seed = 1;
};

/// One outbox message of a run with its delivery state, as stored (`runs show`, `verify`).
struct RunMessage {
  std::int64_t outbox_id = 0;
  int seq = 0;  ///< order within the run
  std::string topic;
  std::string key;
  std::string payload;  ///< JSON text
  std::vector<std::pair<std::string, std::string>> headers;
  std::string state;  ///< `pending`, `published` or `dead_lettered`
  int attempts = 0;   ///< delivery attempts made so far
  std::string last_error;
  SystemTime created_at{};
  std::optional<SystemTime> published_at;  ///< when it was published or dead-lettered
};

/// Totals over finished file runs (plan's size estimate).
struct FileRunTotals {
  std::int64_t runs = 0;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
};

/// Called during long operations with (done, total).
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

/// The database: the spec's UserRepository and MatchingGroupRepository plus the exporter's own
/// tables (runs, claimed items, outbox). Implementations (SQLite, PostgreSQL) are thread-safe:
/// every method may be called concurrently from worker threads. Every failure is an
/// `Error(kDatabase)`, retriable when the connection or a lock timed out.
///
/// The run's steps (docs/ARCHITECTURE.md) map to methods: claim -> stream_rows (-> stage_part)
/// -> commit -> outbox.
class Repository {
 public:
  virtual ~Repository() = default;

  /// Applies pending versioned migrations (reference schema and the exporter's tables).
  /// Safe to run twice and from two processes at once.
  virtual void migrate() = 0;
  /// The current schema version (0 before any migration).
  virtual int schema_version() = 0;

  /// Active groups of a domain, ordered by id. Unknown group types are returned as stored.
  virtual std::vector<MatchingGroup> active_groups(const DomainId& domain) = 0;
  /// One group by id, active or not.
  virtual std::optional<MatchingGroup> find_group(const GroupId& id) = 0;

  /// Step 1, in one transaction. If the group has an unfinished (claimed) run, of any slot,
  /// whose lease is free, expired, already ours, or held by an owner that `owner_is_dead` says
  /// is dead, that run is taken over and returned with
  /// `resumed = true`, the same run id, slot and claimed users, and `attempts` incremented.
  /// Otherwise, if a run for (group, slot) already exists in a finished state it is returned
  /// unchanged (nothing to do) — unless `once_per_slot` is false, see there. Otherwise a new run is
  /// created with `new_run_id` and it claims exactly the users of the group with
  /// sent_to_matching_service = false that no unfinished run claims. The lease is set to
  /// owner/now+lease. If another owner holds a live lease on the group's unfinished run, throws
  /// Error(kLeaseLost).
  ///
  /// Every claim that returns a claimed run increments `attempts`; the returned `attempts` is
  /// the attempt's fencing token. heartbeat(), record_failure(), complete_empty() and commit()
  /// act only for the owner AND the token of the run's latest claim, so a writer whose lease
  /// was taken over (even by its own owner name) can never act on the run again
  /// (docs/ARCHITECTURE.md, "One writer per run").
  virtual ExportRun claim(const ClaimRequest& request) = 0;

  /// Extends the lease of a run this owner holds with token `attempt`; throws
  /// Error(kLeaseLost) if it does not (also when the lease has expired).
  virtual void heartbeat(const std::string& run_id, const std::string& owner, int attempt,
                         std::chrono::seconds lease) = 0;

  /// Step 2: streams the run's claimed users, ascending by user id, with the requested fields
  /// (see known_source_fields(); an unknown field is Error(kConfig)). Memory use does not grow
  /// with the number of rows. Users inserted or committed after the claim are never included.
  virtual void stream_rows(const std::string& run_id, const std::vector<std::string>& fields,
                           RowHandler& handler) = 0;

  /// Records a failed attempt (error text), removes its staged parts and releases the lease so
  /// the run can be resumed; Error(kLeaseLost) unless `owner` with token `attempt` still holds it.
  virtual void record_failure(const std::string& run_id, const std::string& owner, int attempt,
                              const std::string& error) = 0;

  /// Marks a claimed run with no users as `empty` (nothing written or sent), only while `owner`
  /// with token `attempt` holds a live lease.
  virtual void complete_empty(const std::string& run_id, const std::string& owner, int attempt) = 0;

  /// Step 3 of an id-list run: stores part `number` (1-based) of the run's messages while
  /// its ids are still streamed, in a short transaction of its own, only while `owner` with
  /// token `attempt` holds a live lease (else Error(kLeaseLost), nothing stored). Storing a
  /// number again replaces it. A staged part is never delivered: only the commit of the same
  /// attempt moves it into the outbox; a commit, record_failure() and prune() remove the
  /// staged parts of other attempts (docs/ARCHITECTURE.md, "Id-list parts").
  virtual void stage_part(const std::string& run_id, const std::string& owner, int attempt,
                          int number, const OutboundMessage& part) = 0;

  /// Step 4, in one transaction, only if `owner` with token `attempt` still holds a live lease
  /// (else Error(kLeaseLost) and nothing changes): marks the claimed users sent (when mark_sent),
  /// stores the file's key/rows/bytes/sha256 on the run, inserts the messages and then the
  /// attempt's staged parts into the outbox, removes every staged part of the run, and sets the
  /// run `committed` (or `completed` when there is no message).
  virtual void commit(const CommitRequest& request) = 0;

  /// Batched steps for many small groups: one claim, one stream and one commit for all of
  /// them instead of one each per group, so the database reads and updates each page once per
  /// batch rather than once per group (docs/POSTGRES.md, "Batches of small groups").
  ///
  /// Whether claim_batch() can claim anything; false means it always returns no run.
  virtual bool supports_batches() const { return false; }
  /// In one transaction, creates a new run (as claim() step 3 does) for each requested group
  /// that has no unfinished run, no run for the slot, and between 1 and `max_users_per_group`
  /// claimable users. Returns those runs ordered by group id; groups left out are for claim().
  virtual std::vector<ExportRun> claim_batch(const BatchClaimRequest& request);
  /// Streams the runs `run_ids` (those of one claim_batch(), in its order): begin_run(i), then
  /// run i's claimed users as stream_rows() would. This default streams run after run.
  virtual void stream_batch(const std::vector<std::string>& run_ids,
                            const std::vector<std::string>& fields, BatchRowHandler& handler);
  /// Commits several runs, in one transaction where the backend can (this default commits one
  /// after the other). Returns, for each request in order, nothing when it was committed, or
  /// the Error(kLeaseLost) that left that run untouched. Any other failure throws; then, in one
  /// transaction, no run was committed.
  virtual std::vector<std::optional<Error>> commit_batch(
      const std::vector<CommitRequest>& requests);

  /// A read-only listing (tests, tools): up to `limit` outbox messages that are pending and due
  /// (next attempt <= now), claimed or not, oldest first, with their outbox ids and attempt
  /// counts. A relay sends only what claim_messages() gave it.
  virtual std::vector<OutboundMessage> pending_messages(std::size_t limit) = 0;
  /// Step 5, for one relay among several sharing the outbox: in one statement or transaction,
  /// up to `limit` outbox messages that are pending, due (next attempt <= now) and not under a
  /// live claim (claim end > now, whoever holds it: two relays of one owner name must not share
  /// a message either), oldest first, claimed for `owner` until now + `lease`. Until the claim
  /// ends no other call returns them; mark_all_published and mark_dead_lettered end it,
  /// record_publish_failure releases it (the message is due again at its next attempt, for any
  /// relay). A claim that ran out (its relay died or stalled) may be taken by any relay, so
  /// delivery stays at-least-once. Throws Error(kInvalidInput) for an empty owner or a lease
  /// that is not positive. The claim stops before the first message whose payload would take
  /// the claimed payloads past `max_bytes` (the oldest one is claimed whatever its size), so a
  /// relay pass holds a bounded amount of memory however large the messages are.
  virtual std::vector<OutboundMessage> claim_messages(std::size_t limit, const std::string& owner,
                                                      std::chrono::seconds lease,
                                                      std::size_t max_bytes) = 0;
  /// claim_messages() without a byte bound.
  std::vector<OutboundMessage> claim_messages(std::size_t limit, const std::string& owner,
                                              std::chrono::seconds lease) {
    return claim_messages(limit, owner, lease, std::numeric_limits<std::size_t>::max());
  }
  /// `max_bytes` as the signed bound a database compares with.
  static std::int64_t claim_byte_bound(std::size_t max_bytes) {
    return static_cast<std::int64_t>(
        std::min<std::size_t>(max_bytes, std::numeric_limits<std::int64_t>::max()));
  }
  /// Throws Error(kInvalidInput) unless a claim of messages by `owner` for `lease` is
  /// well-formed (every backend's claim_messages() checks this first).
  static void check_message_claim(const std::string& owner, std::chrono::seconds lease);
  /// Ends the live claims of every owner for which `owner_is_dead` returns true (a relay
  /// process of this host that no longer exists), so a restart after a crash need not wait for
  /// them to run out. Returns how many messages were released.
  virtual std::int64_t release_message_claims(
      const std::function<bool(const std::string& owner)>& owner_is_dead) = 0;
  /// Number of outbox messages not yet delivered or dead-lettered.
  virtual std::int64_t pending_count() = 0;
  /// The messages were delivered, recorded in one transaction: their claims end, and each run
  /// whose last pending message is among them becomes `completed`. Messages no longer pending
  /// are left as they are (a relay repeating itself). An id the outbox does not hold throws
  /// Error(kInvalidInput) and marks none of them.
  virtual void mark_all_published(std::span<const std::int64_t> outbox_ids) = 0;
  /// mark_all_published of one message.
  void mark_published(std::int64_t outbox_id) { mark_all_published({&outbox_id, 1}); }
  /// The message was sent to the dead-letter topic for `reason`; it counts as done for the run
  /// and its claim ends.
  virtual void mark_dead_lettered(std::int64_t outbox_id, const std::string& reason) = 0;
  /// A delivery attempt failed retriably: attempts + 1, error kept, claim released, due again
  /// (for any relay) at `next_attempt`.
  virtual void record_publish_failure(std::int64_t outbox_id, const std::string& error,
                                      SystemTime next_attempt) = 0;

  /// The runs `filter` selects, newest first (`runs`, the admin API, the demo's table).
  virtual std::vector<ExportRun> list_runs(const RunFilter& filter) = 0;
  /// The most recent runs, newest first.
  std::vector<ExportRun> recent_runs(std::size_t limit) {
    RunFilter filter;
    filter.limit = limit;
    return list_runs(filter);
  }
  /// The runs whose keys the start-up sweep visits, newest first, at most `limit`: every
  /// unfinished (claimed) run, and the runs created since `since` that had more than one
  /// attempt or a file of at least `min_bytes` (a single-request upload leaves nothing behind).
  virtual std::vector<ExportRun> runs_to_sweep(SystemTime since, std::int64_t min_bytes,
                                               std::size_t limit) = 0;
  /// One run by id.
  virtual std::optional<ExportRun> find_run(const std::string& run_id) = 0;
  /// How many of the run's claimed users are still in `users`: a user deleted since the claim
  /// cannot be streamed again (a resumed run streams the claim's users that exist).
  virtual std::int64_t claimed_users_remaining(const std::string& run_id) = 0;

  /// Replay, in one transaction: queues the run's messages again in the outbox — each message
  /// the commit queued (never an earlier replay of it), same topic, key and payload, its headers
  /// plus `replay: <reason>` — sets a `completed` run back to `committed` until they are
  /// delivered, and records the action for audit. Returns how many messages it queued. Throws
  /// Error(kInvalidInput) for an unknown run, a run that is not finished with messages
  /// (check_run_action()), or a malformed request (check_run_action_request()); then nothing
  /// changed.
  virtual std::int64_t replay_run(const std::string& run_id, const std::string& actor,
                                  const std::string& reason) = 0;
  /// Re-export, in one transaction: sets the run's claimed users that are still marked sent
  /// back to unsent, so the next export of their group sends them again in a new run, and
  /// records the action for audit. Returns how many users it set back. Errors as replay_run().
  virtual std::int64_t reexport_run(const std::string& run_id, const std::string& actor,
                                    const std::string& reason) = 0;
  /// The actions recorded for a run, oldest first. Kept when prune() deletes the run.
  virtual std::vector<RunAction> run_actions(const std::string& run_id) = 0;
  /// Read-only inspection (`plan`, `verify`; docs/SERVICE.md). None of these writes.
  ///
  /// The group's unfinished (claimed) run, the one claim() would resume, or nullopt.
  virtual std::optional<ExportRun> unfinished_run(const GroupId& group) = 0;
  /// How many users a new run of `group` would claim now: unsent users of the group that no
  /// unfinished run holds (exactly claim()'s condition).
  virtual std::int64_t claimable_users(const GroupId& group) = 0;
  /// Streams the users claimable_users() counts, ascending by user id, with `fields` as
  /// stream_rows() does, without claiming them.
  virtual void stream_claimable(const GroupId& group, const std::vector<std::string>& fields,
                                RowHandler& handler) = 0;
  /// Runs, rows and bytes of the finished (`committed` or `completed`) runs that stored a file
  /// with at least one row; of `group` only when given, else of every group.
  virtual FileRunTotals file_run_totals(const std::optional<GroupId>& group) = 0;
  /// The `committed` and `completed` runs created at or after `since`, oldest first.
  virtual std::vector<ExportRun> finished_runs_since(SystemTime since) = 0;
  /// How many of the run's claimed users exist and are marked sent.
  virtual std::int64_t claimed_users_sent(const std::string& run_id) = 0;
  /// The run's outbox messages in `seq` order, with their delivery state; empty for an unknown
  /// run.
  virtual std::vector<RunMessage> run_messages(const std::string& run_id) = 0;

  /// Retention: deletes finished history older than `request.older_than`, in transactions of
  /// at most `request.batch_rows` rows each, and returns what it deleted. Deleted: runs whose
  /// state is `completed` or `empty` and whose last change (`updated_at`) is older, with their
  /// claimed items, outbox rows and staged parts; and outbox rows `published` or `dead_lettered`
  /// before the cutoff. Never deleted: a `claimed` or `committed` run, a `pending` message, a user,
  /// a group. Safe beside exporters and relays: a finished run never changes state again.
  virtual PruneCounts prune(const PruneRequest& request) = 0;

  /// Loads synthetic groups, users and profiles (demo and benchmarks), fast enough for millions
  /// of users. Reports progress through `progress` when given.
  virtual void seed(const SeedPlan& plan, const ProgressFn& progress) = 0;
};

/// How a command uses the database.
enum class RepositoryAccess {
  kReadWrite,
  /// Reads only (`plan`, `verify`): nothing is created, and an SQLite file is left byte for
  /// byte as it was (SqliteOptions::read_only).
  kReadOnly,
};

/// Opens the backend named by `url` (`sqlite:///abs/path.db` or `postgresql://…`).
/// Throws Error(kConfig) for an unknown scheme, Error(kDatabase) when it cannot connect.
std::unique_ptr<Repository> open_repository(const std::string& url, Clock& clock,
                                            RepositoryAccess access = RepositoryAccess::kReadWrite);

struct DatabaseConfig;
/// `config.url` with `pool_size` and `connect_timeout` (whole seconds) added to the query of a
/// PostgreSQL URL that does not set them; other URLs unchanged.
std::string effective_database_url(const DatabaseConfig& config);
/// Opens effective_database_url(config), applying `pool_size` and `connect_timeout_ms` to
/// PostgreSQL URLs that do not set them in their query string.
std::unique_ptr<Repository> open_repository(const DatabaseConfig& config, Clock& clock,
                                            RepositoryAccess access = RepositoryAccess::kReadWrite);

}  // namespace user_export
