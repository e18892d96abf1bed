// ExportService::export_batch: many small cost-based groups with one claim, one stream and one
// commit (docs/POSTGRES.md, "Batches of small groups"). Each group keeps its own run, staged
// file, object and message; what fails in the batch is exported again group by group.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "exporter/export_service.hpp"
#include "exporter/lease_keeper.hpp"
#include "exporter/staged_csv.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {
namespace {

/// Writes a batch's rows into one staged CSV per run, run after run, and stops once a run's
/// lease is lost or shutdown began (the batch's LeaseKeeper renews the leases meanwhile).
class BatchStager final : public BatchRowHandler {
 public:
  BatchStager(const Config& config, const std::vector<MaskMode>& masks,
              const std::vector<std::filesystem::path>& paths, const LeaseKeeper& lease,
              const Clock& clock)
      : config_(config),
        masks_(masks),
        paths_(paths),
        lease_(lease),
        clock_(clock),
        files(paths.size()),
        identities(paths.size()),
        seconds(paths.size(), 0.0) {}

  void begin_run(std::size_t index) override {
    finish();
    if (index >= paths_.size()) {
      throw Error(ErrorCode::kInternal, "a batch stream began run " + std::to_string(index) +
                                            " of " + std::to_string(paths_.size()));
    }
    current_ = index;
    began_ = clock_.monotonic();
    csv_.emplace(config_, masks_, paths_[index]);
  }
  void on_row(RowView row) override {
    if (!csv_) throw Error(ErrorCode::kInternal, "a batch stream sent a row before its run");
    csv_->write_row(row);
    if ((++rows_ & 0x3ff) == 0) lease_.tick();
  }
  /// Closes the file of the run being written, if any.
  void finish() {
    if (!csv_) return;
    identities[current_] = csv_->identity();
    files[current_] = csv_->finish();
    csv_.reset();
    seconds[current_] = seconds_since(clock_, began_);
  }

 private:
  const Config& config_;
  const std::vector<MaskMode>& masks_;
  const std::vector<std::filesystem::path>& paths_;
  const LeaseKeeper& lease_;
  const Clock& clock_;
  std::optional<StagedCsv> csv_;
  std::size_t current_ = 0;
  std::chrono::steady_clock::time_point began_;
  std::uint64_t rows_ = 0;

 public:
  std::vector<std::optional<ExportedFile>> files;  ///< by run index, once finished
  std::vector<StagedFileIdentity> identities;      ///< by run index: which file was written
  /// By run index: from the run's first row to its file's close, the run's own share of the
  /// batch's stream (the group's `users_export_group_duration_seconds`).
  std::vector<double> seconds;
};

// Uploads of one batch's files in flight at once: the files are small, so an upload is mostly
// waiting (for the object store's answer, or an fsync of the local store).
constexpr std::size_t kBatchUploads = 4;

}  // namespace

std::size_t ExportService::batch_size(std::size_t candidates, std::size_t workers) const {
  const auto limit = static_cast<std::size_t>(std::max(deps_.config.export_.batch_max_groups, 1));
  if (limit < 2 || !deps_.repository.supports_batches()) return 1;
  const std::size_t share =
      (candidates + std::max<std::size_t>(workers, 1) - 1) / std::max<std::size_t>(workers, 1);
  const std::size_t size = std::min(limit, share);
  return size < 2 ? 1 : size;
}

std::vector<GroupResult> ExportService::export_batch(
    const std::vector<MatchingGroup>& groups, Slot slot,
    const std::function<void(const GroupResult&)>& on_done) {
  std::vector<GroupResult> results(groups.size());
  std::vector<bool> done(groups.size(), false);
  if (!stopping() && groups.size() > 1 && deps_.repository.supports_batches()) {
    try {
      export_batched(groups, slot, results, done);
    } catch (const std::exception& e) {
      log::warn("batch of small groups failed; its groups are exported one at a time",
                {{"groups", groups.size()},
                 {"slot", format_iso8601(SystemTime{slot})},
                 {"error", e.what()}});
    }
  }
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (!done[i]) results[i] = export_group(groups[i], slot);
    if (on_done) on_done(results[i]);
  }
  return results;
}

void ExportService::export_batched(const std::vector<MatchingGroup>& groups, Slot slot,
                                   std::vector<GroupResult>& results, std::vector<bool>& done) {
  const auto started = deps_.clock.monotonic();
  BatchClaimRequest request;
  request.domain_id = groups.front().domain_id;
  request.slot = slot;
  request.owner = deps_.owner;
  request.lease = deps_.config.export_.lease;
  request.max_users_per_group = deps_.config.export_.batch_max_group_users;
  std::map<std::string, std::size_t> index_of;  // group id -> index in `groups`
  std::vector<ActiveGroups::Hold> holds;        // no other export of this process touches them
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::optional<GroupType> type = parse_group_type(groups[i].type_name);
    if (type != GroupType::kCostBased || groups[i].domain_id != request.domain_id ||
        index_of.contains(groups[i].id.str())) {
      continue;  // exported on its own
    }
    std::optional<ActiveGroups::Hold> hold = active_.try_hold(groups[i].id);
    if (!hold) continue;  // exported (or skipped) on its own
    holds.push_back(std::move(*hold));
    index_of.emplace(groups[i].id.str(), i);
    request.groups.push_back(groups[i].id);
    request.new_run_ids.push_back(Uuid::random(deps_.random).str());
  }
  if (request.groups.size() < 2) return;
  const std::vector<ExportRun> runs = deps_.repository.claim_batch(request);
  if (runs.empty()) return;
  const double claim_seconds = seconds_since(deps_.clock, started);

  std::vector<std::size_t> group_of(runs.size());
  std::vector<std::string> run_ids;
  std::vector<LeaseKeeper::Run> leased;
  std::vector<std::filesystem::path> paths;
  std::vector<std::unique_ptr<StagedFileGuard>> guards;
  std::int64_t users = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    auto it = index_of.find(runs[r].group_id.str());
    if (it == index_of.end()) {
      throw Error(ErrorCode::kInternal, "a batch claim returned a run of group " +
                                            runs[r].group_id.str() + ", which was not asked for");
    }
    group_of[r] = it->second;
    run_ids.push_back(runs[r].run_id);
    leased.push_back({runs[r].run_id, runs[r].attempts});
    paths.push_back(file_exporter_->staged_path(runs[r]));
    std::error_code ec;  // a crashed earlier attempt may have left a file of that name
    std::filesystem::remove(paths.back(), ec);
    guards.push_back(std::make_unique<StagedFileGuard>(paths.back()));
    users += runs[r].item_count;
  }
  std::vector<bool> settled(runs.size(), false);  // committed, or left the batch
  auto& fell_back = deps_.metrics.counter(meters::kBatchedGroups, {{"outcome", "fell_back"}});
  // The leases are kept alive from here until the commit: stream, uploads and commit.
  LeaseKeeper lease(deps_.repository, deps_.clock, leased, deps_.owner, deps_.config.export_.lease,
                    deps_.cancel, deps_.lease_poll);
  auto release = [&](std::size_t r, const std::string& why) {
    fell_back.inc();
    lease.release(r);
    if (lease.lost(r)) return;  // the run is another attempt's now: nothing to record
    try {
      deps_.repository.record_failure(runs[r].run_id, deps_.owner, runs[r].attempts, why);
    } catch (const std::exception& e) {
      log::warn(
          "could not record the failure of the run",
          {{"run_id", runs[r].run_id}, {"group_id", runs[r].group_id.str()}, {"error", e.what()}});
    }
  };
  try {
    // One stream into a staged file per run.
    BatchStager stager(deps_.config, file_exporter_->masks(), paths, lease, deps_.clock);
    try {
      deps_.repository.stream_batch(run_ids, file_exporter_->fields(), stager);
      stager.finish();
    } catch (const Error& e) {
      for (std::size_t r = 0; r < runs.size(); ++r) {
        file_exporter_->count_csv_failure(groups[group_of[r]], e);
      }
      throw;
    }
    lease.tick();  // a shutdown during the stream stops here, before the uploads
    fault_point("after_stage");
    const double stage_seconds = seconds_since(deps_.clock, started);

    // An upload per run, a few at a time; a run whose file is wrong or whose upload fails
    // leaves the batch.
    std::vector<ExportOutcome> outcomes(runs.size());
    std::vector<std::optional<std::string>> failed(runs.size());
    std::atomic<std::size_t> next{0};
    auto upload_some = [&] {
      for (std::size_t r; (r = next++) < runs.size();) {
        try {
          if (!stager.files[r]) {
            throw Error(ErrorCode::kInternal, "the batch stream never began run " + run_ids[r]);
          }
          // The file its writer created, not whatever the path names now.
          const int fd = open_staged_file(paths[r], stager.identities[r]);
          try {
            outcomes[r] = file_exporter_->upload(groups[group_of[r]], runs[r], *stager.files[r],
                                                 stager.seconds[r], {lease, r}, fd);
          } catch (...) {
            ::close(fd);
            throw;
          }
          ::close(fd);
        } catch (const std::exception& e) {
          failed[r] = e.what();
        }
      }
    };
    {
      std::vector<std::jthread> uploaders;
      for (std::size_t t = 1; t < std::min(kBatchUploads, runs.size()); ++t) {
        uploaders.emplace_back(upload_some);
      }
      upload_some();
    }
    std::vector<CommitRequest> commits;
    std::vector<std::size_t> commit_run;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (failed[r]) {
        log::warn("a group of a batch failed; it is exported again on its own",
                  {{"run_id", runs[r].run_id},
                   {"group_id", runs[r].group_id.str()},
                   {"slot", format_iso8601(SystemTime{slot})},
                   {"error", *failed[r]}});
        release(r, *failed[r]);
        settled[r] = true;  // not committed, and not to be released again
        continue;
      }
      CommitRequest commit;
      commit.run_id = runs[r].run_id;
      commit.owner = deps_.owner;
      commit.attempt = runs[r].attempts;
      commit.mark_sent = deps_.config.export_.mark_sent;
      commit.file = outcomes[r].file;
      commit.messages = outcomes[r].messages;  // kept: the results below count them
      commits.push_back(std::move(commit));
      commit_run.push_back(r);
    }
    const double upload_seconds = seconds_since(deps_.clock, started);
    fault_point("before_commit");
    const std::vector<std::optional<Error>> errors = deps_.repository.commit_batch(commits);
    fault_point("after_commit");
    const double commit_seconds = seconds_since(deps_.clock, started);

    auto& committed_groups =
        deps_.metrics.counter(meters::kBatchedGroups, {{"outcome", "committed"}});
    for (std::size_t k = 0; k < commit_run.size(); ++k) {
      const std::size_t r = commit_run[k];
      settled[r] = true;
      const MatchingGroup& group = groups[group_of[r]];
      lease.release(r);
      if (errors[k]) {  // another instance took the run over: it is that one's to finish
        fell_back.inc();
        if (outcomes[r].file) {
          file_exporter_->discard_object(group, runs[r], outcomes[r].file->object_key,
                                         "the commit found the lease lost");
        }
        log::warn("a group of a batch lost its lease before the commit",
                  {{"run_id", runs[r].run_id},
                   {"group_id", group.id.str()},
                   {"error", errors[k]->what()}});
        continue;
      }
      committed_groups.inc();
      GroupResult& result = results[group_of[r]];
      result.group = group;
      result.run_id = runs[r].run_id;
      result.ok = true;
      result.state = outcomes[r].messages.empty() ? RunState::kCompleted : RunState::kCommitted;
      result.rows = outcomes[r].rows;
      result.messages = outcomes[r].messages.size();
      result.file = std::move(outcomes[r].file);
      result.attempts = runs[r].attempts;
      result.seconds = seconds_since(deps_.clock, started);
      count_committed(group, result, deps_.config.export_.mark_sent, result.seconds);
      report(group, slot, result);
      done[group_of[r]] = true;
    }
    log::info("batch of small groups exported",
              {{"slot", format_iso8601(SystemTime{slot})},
               {"groups", runs.size()},
               {"committed", std::count(done.begin(), done.end(), true)},
               {"users", users},
               {"claim_seconds", claim_seconds},
               {"stream_seconds", stage_seconds - claim_seconds},
               {"upload_seconds", upload_seconds - stage_seconds},
               {"commit_seconds", commit_seconds - upload_seconds},
               {"seconds", seconds_since(deps_.clock, started)}});
  } catch (const std::exception& e) {
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (!settled[r]) release(r, e.what());
    }
    throw;
  }
}

}  // namespace user_export
