#pragma once

#include <filesystem>

#include "common/error.hpp"
#include "exporter/export_deps.hpp"
#include "exporter/group_exporter.hpp"

namespace user_export {

/// Cost-based groups: streams the claimed rows through the CSV encoder (masking, guard) into a
/// gzip file in the staging dir, uploads it under the attempt's own key, has the store confirm
/// the object's size and digest, and returns the file message. The staged file is removed when
/// the attempt ends, successful or not.
class FileExporter final : public GroupExporter {
 public:
  /// The lease an upload runs under: run `index` of `keeper`.
  struct UploadLease {
    const LeaseKeeper& keeper;
    std::size_t index = 0;
  };

  explicit FileExporter(ExportDeps deps);
  ExportOutcome export_run(const MatchingGroup& group, const ExportRun& run,
                           const LeaseKeeper& lease) override;

  /// The pieces of export_run() that a batch of small groups (SmallGroupBatch)
  /// uses around its one stream: where run's file is staged; the upload of a staged file
  /// holding the run's claimed users (Error(kInternal) if the rows are not the claim's count)
  /// returning the message to commit — read through `fd` when it is >= 0, stopped once the
  /// lease is lost, and removed again if the store does not hold exactly the staged bytes or
  /// the lease was lost meanwhile; the count of a failure to write the CSV.
  std::filesystem::path staged_path(const ExportRun& run) const;
  ExportOutcome upload(const MatchingGroup& group, const ExportRun& run, ExportedFile file,
                       double csv_seconds, UploadLease lease, int fd = -1,
                       StreamingUpload* streaming = nullptr);
  void count_csv_failure(const MatchingGroup& group, const Error& e);
  const std::vector<std::string>& fields() const { return fields_; }
  const std::vector<MaskMode>& masks() const { return masks_; }

  /// Removes the object `key` of `run`, which will never be committed (best effort: a failure is
  /// logged; the object is then garbage no message names).
  void discard_object(const MatchingGroup& group, const ExportRun& run, const std::string& key,
                      const std::string& why);
  /// After `run` was committed: removes the objects earlier attempts of it may have left.
  void remove_superseded_objects(const MatchingGroup& group, const ExportRun& run);
  /// Aborts the unfinished writes the store holds for the keys of attempts `first`..`last` of
  /// `run` (ObjectStore::abort_unfinished: S3 multipart uploads by exact key), whose writers
  /// are dead or fenced off. Best effort: a failure is logged, and the start-up sweep tries
  /// again. Returns how many were aborted.
  int abort_unfinished_uploads(const MatchingGroup& group, const ExportRun& run, int first,
                               int last, const std::string& why);
  /// After `run` was committed with `file`: the unfinished uploads of every key of the run (the
  /// earlier attempts', and this one's if it went up in parts).
  void after_commit(const MatchingGroup& group, const ExportRun& run, const ExportedFile& file);

 private:
  /// The upload of run's staged file at `path` (read through `fd`) holding `rows` rows, under
  /// the attempt's key, stopped by the lease's flag; without size, digest and `sha256` metadata.
  PutRequest put_request(const MatchingGroup& group, const ExportRun& run,
                         const std::filesystem::path& path, int fd, UploadLease lease,
                         std::int64_t rows) const;
  /// Finishes an upload begun while the file was written (`put` carries its size and digest);
  /// when it failed but may succeed later, and the store streams, put() uploads the file again.
  StoredObject finish_upload(StreamingUpload& streaming, const PutRequest& put,
                             const ExportRun& run);

  ExportDeps deps_;
  std::vector<std::string> fields_;
  std::vector<MaskMode> masks_;
};

}  // namespace user_export
