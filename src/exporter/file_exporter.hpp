#pragma once

#include "exporter/export_deps.hpp"
#include "exporter/group_exporter.hpp"

namespace user_export {

/// Cost-based groups: streams the claimed rows through the CSV encoder (masking, guard) into a
/// gzip file in the staging dir, uploads it under the run's deterministic key, and returns the
/// file message. The staged file is removed when the attempt ends, successful or not.
class FileExporter final : public GroupExporter {
 public:
  explicit FileExporter(ExportDeps deps);
  ExportOutcome export_run(const MatchingGroup& group, const ExportRun& run) override;

 private:
  ExportDeps deps_;
  std::vector<std::string> fields_;
  std::vector<MaskMode> masks_;
};

}  // namespace user_export
