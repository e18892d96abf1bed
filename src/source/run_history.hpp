#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "domain/group.hpp"
#include "domain/run.hpp"
#include "source/retention.hpp"

namespace user_export {

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
  RunId run_id;
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
void check_run_action(const RunId& run_id, const std::string& state_text, RunActionKind kind);
/// Error(kInvalidInput): there is no run `run_id`.
[[noreturn]] void throw_unknown_run(const RunId& run_id);
/// Throws Error(kInvalidInput) unless an action by `actor` for `reason` is well-formed (both
/// non-empty, the reason at most 1,000 bytes).
void check_run_action_request(const std::string& actor, const std::string& reason);

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

/// The runs as history: listing and inspecting them, the operator's audited actions on them,
/// and retention (docs/OPERATIONS.md). A role of Repository.
class RunHistory {
 public:
  virtual ~RunHistory() = default;

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
  virtual std::optional<ExportRun> find_run(const RunId& run_id) = 0;
  /// How many of the run's claimed users are still in `users`: a user deleted since the claim
  /// cannot be streamed again (a resumed run streams the claim's users that exist).
  virtual std::int64_t claimed_users_remaining(const RunId& run_id) = 0;

  /// Replay, in one transaction: queues the run's messages again in the outbox — each message
  /// the commit queued (never an earlier replay of it), same topic, key and payload, its headers
  /// plus `replay: <reason>` — sets a `completed` run back to `committed` until they are
  /// delivered, and records the action for audit. Returns how many messages it queued. Throws
  /// Error(kInvalidInput) for an unknown run, a run that is not finished with messages
  /// (check_run_action()), or a malformed request (check_run_action_request()); then nothing
  /// changed.
  virtual std::int64_t replay_run(const RunId& run_id, const std::string& actor,
                                  const std::string& reason) = 0;
  /// Re-export, in one transaction: sets the run's claimed users that are still marked sent
  /// back to unsent, so the next export of their group sends them again in a new run, and
  /// records the action for audit. Returns how many users it set back. Errors as replay_run().
  virtual std::int64_t reexport_run(const RunId& run_id, const std::string& actor,
                                    const std::string& reason) = 0;
  /// The actions recorded for a run, oldest first. Kept when prune() deletes the run.
  virtual std::vector<RunAction> run_actions(const RunId& run_id) = 0;
  /// The `committed` and `completed` runs created at or after `since`, oldest first.
  virtual std::vector<ExportRun> finished_runs_since(SystemTime since) = 0;
  /// How many of the run's claimed users exist and are marked sent.
  virtual std::int64_t claimed_users_sent(const RunId& run_id) = 0;
  /// The run's outbox messages in `seq` order, with their delivery state; empty for an unknown
  /// run.
  virtual std::vector<RunMessage> run_messages(const RunId& run_id) = 0;

  /// Retention: deletes finished history older than `request.older_than`, in transactions of
  /// at most `request.batch_rows` rows each, and returns what it deleted. Deleted: runs whose
  /// state is `completed` or `empty` and whose last change (`updated_at`) is older, with their
  /// claimed items, outbox rows and staged parts; and outbox rows `published` or `dead_lettered`
  /// before the cutoff. Never deleted: a `claimed` or `committed` run, a `pending` message, a user,
  /// a group. Safe beside exporters and relays: a finished run never changes state again.
  virtual PruneCounts prune(const PruneRequest& request) = 0;
};

}  // namespace user_export
