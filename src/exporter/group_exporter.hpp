#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "domain/exported_file.hpp"
#include "domain/group.hpp"
#include "domain/message.hpp"
#include "domain/run.hpp"
#include "exporter/lease_keeper.hpp"

namespace user_export {

/// What one attempt of a run produced, ready to be committed.
struct ExportOutcome {
  std::optional<ExportedFile> file;       ///< the uploaded file (cost-based groups)
  std::vector<OutboundMessage> messages;  ///< to insert into the outbox at commit
  int staged_parts = 0;   ///< id-list parts already stored with Repository::stage_part()
  std::int64_t rows = 0;  ///< users exported
  /// Messages the commit makes deliverable.
  std::size_t message_count() const {
    return messages.size() + static_cast<std::size_t>(staged_parts);
  }
};

/// One way of exporting a claimed run (the seed's Cost/NonCostBasedUsersExportProcessor).
/// export_run() reads the claim, writes whatever the group type produces outside the database
/// (a file, or id-list parts staged beside the outbox) and returns the messages; it never marks
/// users or makes a message deliverable: the commit does that. It may be called again for the same
/// run after a failure and must then produce the same users (a file goes to the attempt's own key).
/// Implementations are thread-safe.
class GroupExporter {
 public:
  virtual ~GroupExporter() = default;
  /// Exports `run` (claimed, with at least one user) of `group` while `lease` keeps the run
  /// leased; stops with the keeper's error once the lease is lost or shutdown begins.
  virtual ExportOutcome export_run(const MatchingGroup& group, const ExportRun& run,
                                   const LeaseKeeper& lease) = 0;
};

}  // namespace user_export
