#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/active_groups.hpp"
#include "exporter/export_deps.hpp"
#include "exporter/export_service.hpp"
#include "exporter/file_exporter.hpp"
#include "exporter/lease_keeper.hpp"
#include "exporter/staged_csv.hpp"
#include "observe/metrics.hpp"

namespace user_export {

/// One batch of small cost-based groups of one domain, exported with one claim, one stream and
/// one commit (docs/POSTGRES.md, "Batches of small groups"), through the run's steps
/// (docs/ARCHITECTURE.md, "The run's steps"): claim(), stage(), upload(), commit(). Each group
/// keeps its own run, staged file, object and message. A run whose part of the batch fails leaves
/// the batch (its failure is recorded and its lease released); the caller exports its group
/// again on its own. Used once: construct, then run().
class SmallGroupBatch {
 public:
  /// The batch of `groups` for `slot`. Borrows everything; all must outlive the batch.
  SmallGroupBatch(const ExportDeps& deps, ActiveGroups& active, FileExporter& files,
                  const std::vector<MatchingGroup>& groups, Slot slot);
  ~SmallGroupBatch();
  SmallGroupBatch(const SmallGroupBatch&) = delete;
  SmallGroupBatch& operator=(const SmallGroupBatch&) = delete;

  /// Exports the batch. Returns, by index in `groups`, the result of each group the batch
  /// committed, and nullopt for every other group (not batchable, held by another export of this
  /// process, not claimed, or left the batch), which the caller exports on its own. Never
  /// throws: a failure of the whole batch is logged, and its runs not committed leave the batch.
  std::vector<std::optional<GroupResult>> run();

 private:
  /// What the stream wrote for one run: its file once closed, which file it is, and the run's
  /// own share of the stream in seconds.
  struct StagedRun {
    std::optional<ExportedFile> file;
    StagedFileIdentity identity;
    double seconds = 0;
  };

  /// Claim (one transaction): holds the groups that can go in the batch and claims their runs;
  /// then prepares a staged file per run and starts keeping the leases. False when fewer than
  /// two groups could go in the batch or nothing was claimed.
  bool claim();
  /// Takes the runs `claimed` for the groups `index_of` names (group id -> index in `groups`).
  void adopt(std::vector<ExportRun> claimed, const std::map<std::string, std::size_t>& index_of);
  /// Stream: the claimed users of every run, in one stream, each run into its own staged file.
  std::vector<StagedRun> stage();
  /// Upload: each run's staged file to its attempt's key, a few at a time. Returns each run's
  /// message to commit; nullopt for a run whose file was wrong or whose upload failed, which
  /// has left the batch.
  std::vector<std::optional<ExportOutcome>> upload(const std::vector<StagedRun>& staged);
  /// Commit (one transaction, fenced per run): the runs whose upload succeeded; then the result
  /// of each.
  void commit(std::vector<std::optional<ExportOutcome>>& uploaded);
  /// Run `r` after the batch's commit: its result, or, when `error` says the commit found its
  /// lease lost, its object removed.
  void settle(std::size_t r, ExportOutcome& outcome, const std::optional<Error>& error);
  /// Run `r` leaves the batch, once: its lease is released and, unless lost, its failure
  /// recorded.
  void leave(std::size_t r, const std::string& why);
  /// The log line of a batch that went through its steps.
  void log_exported() const;

  const ExportDeps& deps_;
  ActiveGroups& active_;
  FileExporter& files_;
  const std::vector<MatchingGroup>& groups_;
  const Slot slot_;
  const std::chrono::steady_clock::time_point started_;

  std::vector<ActiveGroups::Hold> holds_;  ///< no other export of this process touches them
  // By run, in the order of the claim:
  std::vector<ExportRun> runs_;
  std::vector<std::size_t> group_of_;  ///< index in `groups_`
  std::vector<RunId> run_ids_;
  std::vector<std::filesystem::path> paths_;
  std::vector<std::unique_ptr<StagedFileGuard>> guards_;
  std::vector<bool> settled_;  ///< committed, or left the batch
  std::int64_t users_ = 0;
  Counter* fell_back_ = nullptr;  ///< users_export_batched_groups_total{outcome="fell_back"}
  Counter* committed_ = nullptr;  ///< users_export_batched_groups_total{outcome="committed"}
  /// Keeps the leases alive from the claim until the commit: stream, uploads and commit.
  std::optional<LeaseKeeper> lease_;

  std::vector<std::optional<GroupResult>> results_;  ///< by index in `groups_`
  // Seconds since `started_` at the end of each step.
  double claim_seconds_ = 0;
  double stage_seconds_ = 0;
  double upload_seconds_ = 0;
  double commit_seconds_ = 0;
};

}  // namespace user_export
