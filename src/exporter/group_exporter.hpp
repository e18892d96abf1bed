#pragma once

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
  std::int64_t rows = 0;                  ///< users exported
};

/// One way of exporting a claimed run (the seed's Cost/NonCostBasedUsersExportProcessor).
/// export_run() reads the claim, writes whatever the group type produces outside the database
/// (a file) and returns the messages; it never marks users or writes the outbox: the commit
/// does that. It may be called again for the same run after a failure and must then produce
/// the same users (a file goes to the attempt's own key). Implementations are thread-safe.
class GroupExporter {
 public:
  virtual ~GroupExporter() = default;
  /// Exports `run` (claimed, with at least one user) of `group` while `lease` keeps the run
  /// leased; stops with the keeper's error once the lease is lost or shutdown begins.
  virtual ExportOutcome export_run(const MatchingGroup& group, const ExportRun& run,
                                   const LeaseKeeper& lease) = 0;
};

}  // namespace user_export
