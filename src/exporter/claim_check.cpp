#include "exporter/claim_check.hpp"

#include <string>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "observe/log.hpp"

namespace user_export {

void require_whole_claim_streamed(Repository& repository, const MatchingGroup& group,
                                  const ExportRun& run, std::int64_t streamed) {
  if (streamed == run.item_count) return;
  std::string remaining_note;
  if (streamed < run.item_count) {
    const std::int64_t remaining = repository.claimed_users_remaining(run.run_id);
    if (streamed == remaining) {
      log::warn("claimed users deleted since the claim are not in the export",
                {{"run_id", run.run_id},
                 {"group_id", group.id.str()},
                 {"slot", format_iso8601(SystemTime{run.slot})},
                 {"claimed", run.item_count},
                 {"deleted", run.item_count - remaining}});
      return;
    }
    remaining_note = " (" + std::to_string(remaining) + " of them still exist)";
  }
  throw Error(ErrorCode::kInternal, "run " + run.run_id.str() + " claimed " +
                                        std::to_string(run.item_count) + " users but streamed " +
                                        std::to_string(streamed) + remaining_note +
                                        "; not committing");
}

}  // namespace user_export
