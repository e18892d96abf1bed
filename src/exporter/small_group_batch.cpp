#include "exporter/small_group_batch.hpp"

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
#include "exporter/group_report.hpp"
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

SmallGroupBatch::SmallGroupBatch(const ExportDeps& deps, ActiveGroups& active, FileExporter& files,
                                 const std::vector<MatchingGroup>& groups, Slot slot)
    : deps_(deps),
      active_(active),
      files_(files),
      groups_(groups),
      slot_(slot),
      started_(deps.clock.monotonic()),
      results_(groups.size()) {}

SmallGroupBatch::~SmallGroupBatch() = default;

std::vector<std::optional<GroupResult>> SmallGroupBatch::run() {
  std::optional<std::string> failure;
  try {
    if (claim()) {
      try {
        std::vector<std::optional<ExportOutcome>> uploaded = upload(stage());
        commit(uploaded);
        log_exported();
      } catch (const std::exception& e) {
        for (std::size_t r = 0; r < runs_.size(); ++r) {
          if (!settled_[r]) leave(r, e.what());
        }
        throw;
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // What the batch holds goes before its groups are exported again on their own: the leases,
  // the staged files, and the holds on the groups.
  lease_.reset();
  guards_.clear();
  holds_.clear();
  if (failure) {
    log::warn("batch of small groups failed; its groups are exported one at a time",
              {{"groups", groups_.size()},
               {"slot", format_iso8601(SystemTime{slot_})},
               {"error", *failure}});
  }
  return std::move(results_);
}

bool SmallGroupBatch::claim() {
  BatchClaimRequest request;
  request.domain_id = groups_.front().domain_id;
  request.slot = slot_;
  request.owner = deps_.owner;
  request.lease = deps_.config.export_.lease;
  request.max_users_per_group = deps_.config.export_.batch_max_group_users;
  std::map<std::string, std::size_t> index_of;  // group id -> index in `groups_`
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const std::optional<GroupType> type = parse_group_type(groups_[i].type_name);
    if (type != GroupType::kCostBased || groups_[i].domain_id != request.domain_id ||
        index_of.contains(groups_[i].id.str())) {
      continue;  // exported on its own
    }
    std::optional<ActiveGroups::Hold> hold = active_.try_hold(groups_[i].id);
    if (!hold) continue;  // exported (or skipped) on its own
    holds_.push_back(std::move(*hold));
    index_of.emplace(groups_[i].id.str(), i);
    request.groups.push_back(groups_[i].id);
    request.new_run_ids.push_back(RunId(Uuid::random(deps_.random).str()));
  }
  if (request.groups.size() < 2) return false;
  std::vector<ExportRun> claimed = deps_.repository.claim_batch(request);
  if (claimed.empty()) return false;
  claim_seconds_ = seconds_since(deps_.clock, started_);
  adopt(std::move(claimed), index_of);
  return true;
}

void SmallGroupBatch::adopt(std::vector<ExportRun> claimed,
                            const std::map<std::string, std::size_t>& index_of) {
  runs_ = std::move(claimed);
  std::vector<LeaseKeeper::Run> leased;
  for (const ExportRun& run : runs_) {
    auto it = index_of.find(run.group_id.str());
    if (it == index_of.end()) {
      throw Error(ErrorCode::kInternal, "a batch claim returned a run of group " +
                                            run.group_id.str() + ", which was not asked for");
    }
    group_of_.push_back(it->second);
    run_ids_.push_back(run.run_id);
    leased.push_back({run.run_id, run.attempts});
    paths_.push_back(files_.staged_path(run));
    std::error_code ec;  // a crashed earlier attempt may have left a file of that name
    std::filesystem::remove(paths_.back(), ec);
    guards_.push_back(std::make_unique<StagedFileGuard>(paths_.back()));
    users_ += run.item_count;
  }
  settled_.assign(runs_.size(), false);
  fell_back_ = &deps_.metrics.counter(meters::kBatchedGroups, {{"outcome", "fell_back"}});
  lease_.emplace(deps_.repository, deps_.clock, leased, deps_.owner, deps_.config.export_.lease,
                 deps_.cancel, deps_.lease_poll);
}

std::vector<SmallGroupBatch::StagedRun> SmallGroupBatch::stage() {
  BatchStager stager(deps_.config, files_.masks(), paths_, *lease_, deps_.clock);
  try {
    deps_.repository.stream_batch(run_ids_, files_.fields(), stager);
    stager.finish();
  } catch (const Error& e) {
    for (std::size_t r = 0; r < runs_.size(); ++r) {
      files_.count_csv_failure(groups_[group_of_[r]], e);
    }
    throw;
  }
  lease_->tick();  // a shutdown during the stream stops here, before the uploads
  fault_point("after_stage");
  stage_seconds_ = seconds_since(deps_.clock, started_);
  std::vector<StagedRun> staged(runs_.size());
  for (std::size_t r = 0; r < runs_.size(); ++r) {
    staged[r] = {std::move(stager.files[r]), stager.identities[r], stager.seconds[r]};
  }
  return staged;
}

std::vector<std::optional<ExportOutcome>> SmallGroupBatch::upload(
    const std::vector<StagedRun>& staged) {
  std::vector<std::optional<ExportOutcome>> outcomes(runs_.size());
  std::vector<std::optional<std::string>> failed(runs_.size());
  std::atomic<std::size_t> next{0};
  auto upload_some = [&] {
    for (std::size_t r; (r = next++) < runs_.size();) {
      try {
        if (!staged[r].file) {
          throw Error(ErrorCode::kInternal,
                      "the batch stream never began run " + run_ids_[r].str());
        }
        // The file its writer created, not whatever the path names now.
        const int fd = open_staged_file(paths_[r], staged[r].identity);
        try {
          outcomes[r] = files_.upload(groups_[group_of_[r]], runs_[r], *staged[r].file,
                                      staged[r].seconds, {*lease_, r}, fd);
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
    for (std::size_t t = 1; t < std::min(kBatchUploads, runs_.size()); ++t) {
      uploaders.emplace_back(upload_some);
    }
    upload_some();
  }
  for (std::size_t r = 0; r < runs_.size(); ++r) {
    if (!failed[r]) continue;
    log::warn("a group of a batch failed; it is exported again on its own",
              {{"run_id", runs_[r].run_id},
               {"group_id", runs_[r].group_id.str()},
               {"slot", format_iso8601(SystemTime{slot_})},
               {"error", *failed[r]}});
    leave(r, *failed[r]);
    outcomes[r].reset();
  }
  return outcomes;
}

void SmallGroupBatch::commit(std::vector<std::optional<ExportOutcome>>& uploaded) {
  std::vector<CommitRequest> commits;
  std::vector<std::size_t> commit_run;
  for (std::size_t r = 0; r < runs_.size(); ++r) {
    if (!uploaded[r]) continue;
    CommitRequest commit;
    commit.run_id = runs_[r].run_id;
    commit.owner = deps_.owner;
    commit.attempt = runs_[r].attempts;
    commit.mark_sent = deps_.config.export_.mark_sent;
    commit.file = uploaded[r]->file;
    commit.messages = uploaded[r]->messages;  // kept: the results count them
    commits.push_back(std::move(commit));
    commit_run.push_back(r);
  }
  upload_seconds_ = seconds_since(deps_.clock, started_);
  fault_point("before_commit");
  lease_->committing();
  const std::vector<std::optional<Error>> errors = deps_.repository.commit_batch(commits);
  fault_point("after_commit");
  commit_seconds_ = seconds_since(deps_.clock, started_);
  committed_ = &deps_.metrics.counter(meters::kBatchedGroups, {{"outcome", "committed"}});
  for (std::size_t k = 0; k < commit_run.size(); ++k) {
    settle(commit_run[k], *uploaded[commit_run[k]], errors[k]);
  }
}

void SmallGroupBatch::settle(std::size_t r, ExportOutcome& outcome,
                             const std::optional<Error>& error) {
  settled_[r] = true;
  const MatchingGroup& group = groups_[group_of_[r]];
  lease_->release(r);
  if (error) {  // another instance took the run over: it is that one's to finish
    fell_back_->inc();
    if (outcome.file) {
      files_.discard_object(group, runs_[r], outcome.file->object_key,
                            "the commit found the lease lost");
    }
    log::warn(
        "a group of a batch lost its lease before the commit",
        {{"run_id", runs_[r].run_id}, {"group_id", group.id.str()}, {"error", error->what()}});
    return;
  }
  committed_->inc();
  GroupResult result;
  result.group = group;
  result.run_id = runs_[r].run_id;
  result.outcome = GroupOutcome::kExported;
  result.state = outcome.messages.empty() ? RunState::kCompleted : RunState::kCommitted;
  result.rows = outcome.rows;
  result.messages = outcome.messages.size();
  result.file = std::move(outcome.file);
  result.attempts = runs_[r].attempts;
  result.seconds = seconds_since(deps_.clock, started_);
  count_committed(deps_, result, deps_.config.export_.mark_sent, result.seconds);
  report_result(deps_, slot_, result);
  results_[group_of_[r]] = std::move(result);
}

void SmallGroupBatch::leave(std::size_t r, const std::string& why) {
  settled_[r] = true;  // not committed, and not to leave again
  fell_back_->inc();
  lease_->release(r);
  if (lease_->lost(r)) return;  // the run is another attempt's now: nothing to record
  try {
    deps_.repository.record_failure(runs_[r].run_id, deps_.owner, runs_[r].attempts, why);
  } catch (const std::exception& e) {
    log::warn(
        "could not record the failure of the run",
        {{"run_id", runs_[r].run_id}, {"group_id", runs_[r].group_id.str()}, {"error", e.what()}});
  }
}

void SmallGroupBatch::log_exported() const {
  const auto committed = std::count_if(results_.begin(), results_.end(),
                                       [](const auto& result) { return result.has_value(); });
  log::info("batch of small groups exported",
            {{"slot", format_iso8601(SystemTime{slot_})},
             {"groups", runs_.size()},
             {"committed", committed},
             {"users", users_},
             {"claim_seconds", claim_seconds_},
             {"stream_seconds", stage_seconds_ - claim_seconds_},
             {"upload_seconds", upload_seconds_ - stage_seconds_},
             {"commit_seconds", commit_seconds_ - upload_seconds_},
             {"seconds", seconds_since(deps_.clock, started_)}});
}

}  // namespace user_export
