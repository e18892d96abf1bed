#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/exported_file.hpp"
#include "domain/group.hpp"
#include "domain/message.hpp"
#include "domain/run.hpp"
#include "source/row_handler.hpp"

namespace user_export {

/// What claim() needs.
struct ClaimRequest {
  GroupId group_id;
  DomainId domain_id;
  Slot slot{};
  OwnerId owner;                    ///< this instance's lease-owner name
  std::chrono::seconds lease{300};  ///< how long the lease lasts without heartbeat
  RunId new_run_id;                 ///< run id to use if a new run is created (UUID text)
  /// Optional: whether a lease owner is known to be dead (a crashed process on this host).
  /// A live lease held by an owner for which this returns true is taken over like an expired
  /// one, so a restart after a crash need not wait for the lease to run out.
  std::function<bool(const OwnerId& owner)> owner_is_dead;
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
  OwnerId owner;                    ///< this instance's lease-owner name
  std::chrono::seconds lease{300};  ///< how long each run's lease lasts without heartbeat
  std::vector<RunId> new_run_ids;   ///< one UUID text per group, in the same order
  /// A group with more claimable users than this is left out (exported on its own).
  std::int64_t max_users_per_group = 10'000;
};

/// Throws Error(kInvalidInput) unless a claim by `owner` with `lease` and new run id
/// `new_run_id` is well-formed (every backend's claim() and claim_batch() check this first).
void check_claim_request(const OwnerId& owner, std::chrono::seconds lease, const RunId& new_run_id);

/// Receives the rows of several runs, one run after the other (stream_batch()).
class BatchRowHandler : public RowHandler {
 public:
  /// The rows that follow belong to run `index` of stream_batch()'s run ids. Called once for
  /// every run, in ascending order, also for a run that streams no row.
  virtual void begin_run(std::size_t index) = 0;
};

/// What commit() writes in one transaction.
struct CommitRequest {
  RunId run_id;
  OwnerId owner;    ///< must still hold the run's lease
  int attempt = 0;  ///< the fencing token: the run's `attempts` when this owner claimed it
  bool mark_sent = true;
  std::optional<ExportedFile> file;       ///< the uploaded file of a cost-based run
  std::vector<OutboundMessage> messages;  ///< inserted into the outbox, in order
  /// The parts this attempt stored with stage_part(), numbered 1..staged_parts; moved into the
  /// outbox after `messages`, with kPartsPlaceholder filled in. The commit fails (changing
  /// nothing) unless exactly these parts are stored.
  int staged_parts = 0;
};

/// Step 4 begun while the attempt still streams (RunStore::begin_commit()): a transaction of its
/// own, still open, that has marked the run's claimed users. Destroying it without a successful
/// finish() rolls it back: nothing it did is ever seen. Not thread-safe.
class OpenCommit {
 public:
  virtual ~OpenCommit() = default;
  /// Finishes step 4 in the open transaction, exactly as RunStore::commit(request) would from
  /// its fenced check of the lease on (the users are marked already; `request` must be for the
  /// run and attempt begin_commit() was given, with mark_sent). Returns true once committed.
  /// Returns false, having committed nothing, when the open transaction can no longer commit
  /// (its session ended while it sat idle, the server chose it as a deadlock victim, …): the
  /// caller destroys this object, which releases the users, and commits with
  /// RunStore::commit(). Throws Error(kLeaseLost) as commit() does (nothing committed), and
  /// whatever the COMMIT itself threw (its outcome is then unknown, as for commit()).
  virtual bool finish(const CommitRequest& request) = 0;
};

/// The run's steps 1 to 4 on the database (docs/ARCHITECTURE.md, "The run's steps"): claim ->
/// stream_rows (-> stage_part) -> commit, each fenced by the attempt's token. A role of
/// Repository.
class RunStore {
 public:
  virtual ~RunStore() = default;

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
  virtual void heartbeat(const RunId& run_id, const OwnerId& owner, int attempt,
                         std::chrono::seconds lease) = 0;

  /// Step 2: streams the run's claimed users, ascending by user id, with the requested fields
  /// (see known_source_fields(); an unknown field is Error(kConfig)). Memory use does not grow
  /// with the number of rows. Users inserted or committed after the claim are never included.
  virtual void stream_rows(const RunId& run_id, const std::vector<std::string>& fields,
                           RowHandler& handler) = 0;

  /// Records a failed attempt (error text), removes its staged parts and releases the lease so
  /// the run can be resumed; Error(kLeaseLost) unless `owner` with token `attempt` still holds it.
  virtual void record_failure(const RunId& run_id, const OwnerId& owner, int attempt,
                              const std::string& error) = 0;

  /// Marks a claimed run with no users as `empty` (nothing written or sent), only while `owner`
  /// with token `attempt` holds a live lease.
  virtual void complete_empty(const RunId& run_id, const OwnerId& owner, int attempt) = 0;

  /// Step 3 of an id-list run: stores part `number` (1-based) of the run's messages while
  /// its ids are still streamed, in a short transaction of its own, only while `owner` with
  /// token `attempt` holds a live lease (else Error(kLeaseLost), nothing stored). Storing a
  /// number again replaces it. A staged part is never delivered: only the commit of the same
  /// attempt moves it into the outbox; a commit, record_failure() and prune() remove the
  /// staged parts of other attempts (docs/ARCHITECTURE.md, "Id-list parts").
  virtual void stage_part(const RunId& run_id, const OwnerId& owner, int attempt, int number,
                          const OutboundMessage& part) = 0;

  /// Step 4, in one transaction, only if `owner` with token `attempt` still holds a live lease
  /// (else Error(kLeaseLost) and nothing changes): marks the claimed users sent (when mark_sent),
  /// stores the file's key/rows/bytes/sha256 on the run, inserts the messages and then the
  /// attempt's staged parts into the outbox, removes every staged part of the run, and sets the
  /// run `committed` (or `completed` when there is no message).
  virtual void commit(const CommitRequest& request) = 0;

  /// Begins step 4 while step 2 still streams (docs/ARCHITECTURE.md, "Marking while
  /// streaming"): opens a transaction, checks that `owner` with token `attempt` holds a live
  /// lease on the run, and returns at once, while a thread of the returned object marks the
  /// run's claimed users sent in that transaction, left open. The marks are invisible to
  /// everyone else until OpenCommit::finish() commits, and the marked users stay locked until
  /// then; destroying the object first stops the marking and rolls it back. If the transaction
  /// sits idle longer than `idle_limit` (a stalled process, or a stream longer than that) the
  /// server ends it, and finish() reports that. Returns null (nothing done) when the backend
  /// cannot keep such a transaction beside the others (this default), no connection is free,
  /// or the lease is not held.
  virtual std::unique_ptr<OpenCommit> begin_commit(const RunId& run_id, const OwnerId& owner,
                                                   int attempt,
                                                   std::chrono::milliseconds idle_limit);

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
  virtual void stream_batch(const std::vector<RunId>& run_ids,
                            const std::vector<std::string>& fields, BatchRowHandler& handler);
  /// Commits several runs, in one transaction where the backend can (this default commits one
  /// after the other). Returns, for each request in order, nothing when it was committed, or
  /// the Error(kLeaseLost) that left that run untouched. Any other failure throws; then, in one
  /// transaction, no run was committed.
  virtual std::vector<std::optional<Error>> commit_batch(
      const std::vector<CommitRequest>& requests);
};

}  // namespace user_export
