#pragma once

#include <filesystem>

#include "common/error.hpp"
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

  /// The pieces of export_run() that a batch of small groups (ExportService::export_batch)
  /// uses around its one stream: where run's file is staged; the upload of a staged file
  /// holding the run's claimed users (Error(kInternal) if the rows are not the claim's count)
  /// returning the message to commit; the count of a failure to write the CSV.
  std::filesystem::path staged_path(const ExportRun& run) const;
  ExportOutcome upload(const MatchingGroup& group, const ExportRun& run, ExportedFile file,
                       double csv_seconds);
  void count_csv_failure(const MatchingGroup& group, const Error& e);
  const std::vector<std::string>& fields() const { return fields_; }
  const std::vector<MaskMode>& masks() const { return masks_; }

 private:
  ExportDeps deps_;
  std::vector<std::string> fields_;
  std::vector<MaskMode> masks_;
};

}  // namespace user_export
