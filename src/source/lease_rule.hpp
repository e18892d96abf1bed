#pragma once

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "domain/ids.hpp"

// The lease rules every backend applies, written once (docs/ARCHITECTURE.md, "One writer per
// run"): when a claim may take a run's lease over, and why an attempt no longer holds it.
namespace user_export {

/// A run's lease as stored.
struct StoredLease {
  std::string state;                  ///< `claimed`, `committed`, …
  std::optional<OwnerId> owner;       ///< null once released after a failed attempt
  std::optional<SystemTime> expires;  ///< null once released
  int attempts = 0;                   ///< the token of the latest claim
};

/// Whether a claim by `owner` may take over the unfinished run leased as `lease`: the lease is
/// released, expired, already this owner's, or held by an owner that `owner_is_dead` (may be
/// empty) says is dead. A takeover increments the run's attempts, which fences the old holder.
template <typename OwnerIsDead>
bool lease_can_be_taken(const StoredLease& lease, const OwnerId& owner, SystemTime now,
                        const OwnerIsDead& owner_is_dead) {
  if (!lease.owner || lease.owner->empty() || !lease.expires) return true;
  if (*lease.expires <= now || *lease.owner == owner) return true;
  return owner_is_dead && owner_is_dead(*lease.owner);
}

/// Whether `owner` names a process of this host that is provably gone (local_owner_is_dead(),
/// common/process_owner.hpp): the claims' and relays' default `owner_is_dead`.
bool local_owner_id_is_dead(const OwnerId& owner);

/// Why `owner` with token `attempt` does not hold a live lease on a run stored as `lease`
/// (nullopt: there is no such run); "the lease is live" when it does.
std::string lease_problem(const std::optional<StoredLease>& lease, const OwnerId& owner,
                          int attempt, SystemTime now);

/// Throws Error(kLeaseLost): "cannot ACTION run RUN as 'OWNER' (attempt N): PROBLEM; this
/// instance must stop working on the run …".
[[noreturn]] void throw_lease_lost(const RunId& run_id, const OwnerId& owner, int attempt,
                                   const char* action, const std::string& problem);

/// Throws Error(kLeaseLost) for a claim refused because `holder` holds a live lease until
/// `expires` on `run_id`, the unfinished run of `group`.
[[noreturn]] void throw_group_busy(const std::string& group, const RunId& run_id,
                                   const OwnerId& holder, SystemTime expires);

}  // namespace user_export
