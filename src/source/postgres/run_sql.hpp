#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "source/postgres/pg_connection.hpp"
#include "source/repository.hpp"

// Statements of the run's steps shared by the one-group and the batch paths (postgres_run.cpp,
// postgres_batch.cpp). Each runs inside the caller's transaction.
namespace user_export::pg {

/// First key of the per-group claim lock (pg_advisory_xact_lock(int, int)); the second is
/// hashtext(group id). Two groups that share a hash merely claim one after the other.
inline constexpr const char* kClaimLockClass = "1969582337";  // 0x75650001
/// Sets how long a claim waits for a lock (the group's claim lock, a run's row) before it fails
/// with a retriable "lock not available": longer than kIdleInTransactionLimit, so a claim behind
/// a stalled process outlasts that process's transaction and then takes its runs over, while a
/// claim behind a live, slow one gives up instead of queueing for good.
inline constexpr const char* kClaimLockWait = "SET LOCAL lock_timeout = 30000";

/// What a commit needs to know of a claimed run.
struct ClaimedRun {
  std::string group_id;
  std::int64_t item_count = 0;
};

/// The run, if `owner` with token `attempt` holds a live lease on it and it is claimed; locks
/// the run row until the end of the transaction so that a concurrent claim cannot take the
/// lease over meanwhile.
std::optional<ClaimedRun> lock_live_lease(Connection& c, const RunId& run_id, const OwnerId& owner,
                                          int attempt, SystemTime now);
/// The same check without the lock: the run row stays free for the lease keeper's renewals.
std::optional<ClaimedRun> read_live_lease(Connection& c, const RunId& run_id, const OwnerId& owner,
                                          int attempt, SystemTime now);

/// Marks the claimed users of run `run_id` sent: those still in the run's group, then (only
/// when that marked fewer than were claimed) those who moved to another group since the claim.
void mark_claimed_users(Connection& c, const RunId& run_id, const ClaimedRun& run);

/// Writes the rest of a commit of a run whose lease is locked: the file's key, rows, bytes and
/// digest, the outbox messages in order, then the attempt's staged parts with their count
/// filled in, the removal of every staged part of the run, and the run's new state.
void write_commit(Connection& c, const CommitRequest& request, const std::string& now_param);

/// Stores (or replaces) part `number` of attempt `attempt` of a run whose lease is locked.
void stage_part(Connection& c, const RunId& run_id, int attempt, int number,
                const OutboundMessage& part, const std::string& now_param);

}  // namespace user_export::pg
