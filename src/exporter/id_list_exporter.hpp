#pragma once

#include "exporter/export_deps.hpp"
#include "exporter/group_exporter.hpp"

namespace user_export {

/// Non-cost-based groups: streams the claimed users' ref ids into id-list messages, split to
/// stay under messages.max_message_bytes (each part with the same runId and part/parts).
/// Writes no file.
class IdListExporter final : public GroupExporter {
 public:
  explicit IdListExporter(ExportDeps deps);
  ExportOutcome export_run(const MatchingGroup& group, const ExportRun& run,
                           const LeaseKeeper& lease) override;

 private:
  ExportDeps deps_;
};

}  // namespace user_export
