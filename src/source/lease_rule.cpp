#include "source/lease_rule.hpp"

#include "common/error.hpp"
#include "common/process_owner.hpp"
#include "common/time_format.hpp"

namespace user_export {

bool local_owner_id_is_dead(const OwnerId& owner) {
  return local_owner_is_dead(owner.str());
}

std::string lease_problem(const std::optional<StoredLease>& lease, const OwnerId& owner,
                          int attempt, SystemTime now) {
  if (!lease) return "there is no such run";
  if (lease->state != "claimed") return "the run is already " + lease->state;
  if (!lease->owner || !lease->expires) {
    return "the run's lease was released after a failed attempt";
  }
  const std::string until = format_iso8601_ms(*lease->expires);
  if (*lease->owner != owner) return "it is leased by '" + lease->owner->str() + "' until " + until;
  if (lease->attempts != attempt) {
    return "the run was claimed again since (attempt " + std::to_string(lease->attempts) +
           " holds it now)";
  }
  if (*lease->expires <= now) return "the lease expired at " + until;
  return "the lease is live";
}

void throw_lease_lost(const RunId& run_id, const OwnerId& owner, int attempt, const char* action,
                      const std::string& problem) {
  throw Error(ErrorCode::kLeaseLost,
              "cannot " + std::string(action) + " run " + run_id.str() + " as '" + owner.str() +
                  "' (attempt " + std::to_string(attempt) + "): " + problem +
                  "; this instance must stop working on the run (another instance owns it or "
                  "will resume it)");
}

void throw_group_busy(const std::string& group, const RunId& run_id, const OwnerId& holder,
                      SystemTime expires) {
  throw Error(ErrorCode::kLeaseLost,
              "group " + group + " is being exported by '" + holder.str() + "' (run " +
                  run_id.str() + ", lease until " + format_iso8601_ms(expires) +
                  "); skipping it now, it can be taken over once that lease expires");
}

}  // namespace user_export
