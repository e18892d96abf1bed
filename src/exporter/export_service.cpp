#include "exporter/export_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/process_owner.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "exporter/file_exporter.hpp"
#include "exporter/group_report.hpp"
#include "exporter/id_list_exporter.hpp"
#include "exporter/small_group_batch.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"
#include "resilience/retry.hpp"

namespace user_export {

ExportService::ExportService(ExportDeps deps)
    : deps_(std::move(deps)),
      file_exporter_(std::make_unique<FileExporter>(deps_)),
      id_list_exporter_(std::make_unique<IdListExporter>(deps_)) {}

ExportService::~ExportService() = default;

GroupExporter& ExportService::exporter_for(GroupType type) {
  return type == GroupType::kCostBased ? *file_exporter_ : *id_list_exporter_;
}

GroupResult ExportService::export_group(const MatchingGroup& group, Slot slot) {
  const auto started = deps_.clock.monotonic();
  const std::string gid = group.id.str();
  GroupResult result;
  result.group = group;
  auto& metrics = deps_.metrics;
  if (stopping()) {
    result.ok = true;
    result.skipped = true;
    result.error = "not started: shutting down";
    return result;
  }
  std::optional<ActiveGroups::Hold> hold = active_.try_hold(group.id);
  if (!hold) return skipped_as_busy(group, slot);
  try {
    const GroupType type = group.type();
    Retry retry(deps_.config.retry, deps_.sleeper, deps_.random);
    result = retry.run(
        [&](int attempt_no) { return attempt(group, type, slot, attempt_no, result); },
        [&](int attempt_no, const std::exception& e, Duration delay) {
          metrics.counter(meters::kRetries, {{"group_id", gid}}).inc();
          log::warn(
              "export attempt failed, retrying",
              {{"run_id", result.run_id},
               {"group_id", gid},
               {"slot", format_iso8601(SystemTime{slot})},
               {"attempt", attempt_no},
               {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()},
               {"error", e.what()}});
        });
  } catch (const Error& e) {
    if (result.skipped) {  // claim refused: another instance's live lease
      result.ok = true;
      result.error = e.what();
      result.error_code = e.code();
      result.seconds = seconds_since(deps_.clock, started);
      metrics.counter(meters::kGroupsSkipped, {{"group_id", gid}}).inc();
      log::info(
          "group skipped: another instance owns the run",
          {{"group_id", gid}, {"slot", format_iso8601(SystemTime{slot})}, {"reason", e.what()}});
      return result;
    }
    result.ok = false;
    result.error = e.what();
    result.error_code = e.code();
    if (e.code() == ErrorCode::kInvalidInput && !parse_group_type(group.type_name)) {
      metrics
          .counter(meters::kInvalidGroupType, {{"group_id", gid}, {"group_type", group.type_name}})
          .inc();
    }
  } catch (const std::exception& e) {
    result.ok = false;
    result.error = e.what();
    result.error_code = ErrorCode::kInternal;
  }
  result.group = group;
  result.seconds = seconds_since(deps_.clock, started);
  report_result(deps_, slot, result);
  return result;
}

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
  std::vector<std::optional<GroupResult>> batched(groups.size());
  if (!stopping() && groups.size() > 1 && deps_.repository.supports_batches()) {
    batched = SmallGroupBatch(deps_, active_, *file_exporter_, groups, slot).run();
  }
  std::vector<GroupResult> results;
  results.reserve(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    results.push_back(batched[i] ? std::move(*batched[i]) : export_group(groups[i], slot));
    if (on_done) on_done(results.back());
  }
  return results;
}

GroupResult ExportService::skipped_as_busy(const MatchingGroup& group, Slot slot) {
  GroupResult result;
  result.group = group;
  result.ok = true;
  result.skipped = true;
  result.error = "another export of this process is exporting the group";
  deps_.metrics.counter(meters::kGroupsSkipped, {{"group_id", group.id.str()}}).inc();
  log::warn("group skipped: this process is already exporting it",
            {{"group_id", group.id.str()}, {"slot", format_iso8601(SystemTime{slot})}});
  return result;
}

GroupResult ExportService::attempt(const MatchingGroup& group, GroupType type, Slot slot,
                                   int attempt_no, GroupResult& progress) {
  const auto started = deps_.clock.monotonic();
  const std::string gid = group.id.str();
  if (attempt_no > 1 && stopping()) {
    throw Error(ErrorCode::kInternal,
                "not retried: shutting down; the claim is kept and the next run resumes it", false);
  }
  GroupResult result;
  result.group = group;
  result.attempts = attempt_no;

  ClaimRequest claim;
  claim.group_id = group.id;
  claim.domain_id = group.domain_id;
  claim.slot = slot;
  claim.owner = deps_.owner;
  claim.lease = deps_.config.export_.lease;
  claim.new_run_id = Uuid::random(deps_.random).str();
  claim.owner_is_dead = local_owner_is_dead;
  claim.once_per_slot = deps_.once_per_slot;
  ExportRun run = [&] {
    try {
      return deps_.repository.claim(claim);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kLeaseLost) progress.skipped = true;
      throw;
    }
  }();
  result.run_id = run.run_id;
  progress.run_id = run.run_id;  // kept for the report if this attempt fails
  progress.attempts = attempt_no;
  result.state = run.state;
  result.resumed = run.resumed;
  if (run.state != RunState::kClaimed) {
    result.ok = true;
    result.already_done = true;
    result.rows = run.rows;
    return result;
  }
  if (run.resumed) {
    log::info("resuming unfinished run", {{"run_id", run.run_id},
                                          {"group_id", gid},
                                          {"slot", format_iso8601(SystemTime{run.slot})},
                                          {"users", run.item_count},
                                          {"attempt", run.attempts}});
  }
  // The lease is kept alive from here until the attempt ends: stream, upload and commit.
  std::optional<LeaseKeeper> lease;
  try {
    fault_point("after_claim");
    if (run.item_count == 0) {
      deps_.repository.complete_empty(run.run_id, deps_.owner, run.attempts);
      result.ok = true;
      result.state = RunState::kEmpty;
      return result;
    }
    lease.emplace(deps_.repository, deps_.clock, LeaseKeeper::Run{run.run_id, run.attempts},
                  deps_.owner, deps_.config.export_.lease, deps_.cancel, deps_.lease_poll);
    ExportOutcome outcome = exporter_for(type).export_run(group, run, *lease);
    fault_point("before_commit");
    lease->check(0);
    CommitRequest commit;
    commit.run_id = run.run_id;
    commit.owner = deps_.owner;
    commit.attempt = run.attempts;
    commit.mark_sent = deps_.config.export_.mark_sent;
    commit.file = outcome.file;
    commit.messages = std::move(outcome.messages);
    commit.staged_parts = outcome.staged_parts;
    const std::size_t messages =
        commit.messages.size() + static_cast<std::size_t>(commit.staged_parts);
    try {
      deps_.repository.commit(commit);
    } catch (const Error& e) {
      // kLeaseLost means the commit's transaction changed nothing: this attempt's object is
      // never named by a message. (After any other failure the outcome may be unknown, so the
      // object stays; a later attempt writes its own.)
      if (e.code() == ErrorCode::kLeaseLost && outcome.file) {
        file_exporter_->discard_object(group, run, outcome.file->object_key,
                                       "the commit found the lease lost");
      }
      throw;
    }
    lease.reset();
    fault_point("after_commit");
    if (outcome.file) file_exporter_->after_commit(group, run, *outcome.file);

    result.ok = true;
    result.state = messages == 0 ? RunState::kCompleted : RunState::kCommitted;
    result.rows = outcome.rows;
    result.messages = messages;
    result.file = std::move(outcome.file);
    count_committed(deps_, result, commit.mark_sent, seconds_since(deps_.clock, started));
    return result;
  } catch (const std::exception& e) {
    deps_.metrics.counter(meters::kBatchFailures, {{"group_id", gid}}).inc();
    const auto* error = dynamic_cast<const Error*>(&e);
    const bool lost = error != nullptr && error->code() == ErrorCode::kLeaseLost;
    try {
      // A lost lease is not this attempt's to record: the run is another attempt's now.
      if (!lost) deps_.repository.record_failure(run.run_id, deps_.owner, run.attempts, e.what());
    } catch (const std::exception& inner) {
      log::warn("could not record the failure of the run",
                {{"run_id", run.run_id},
                 {"group_id", gid},
                 {"slot", format_iso8601(SystemTime{run.slot})},
                 {"error", inner.what()}});
    }
    // Whatever this attempt left unfinished in the store can never complete now. (Not on
    // shutdown: the upload aborted itself, and the start-up sweep covers what it missed.)
    const bool cancelled = deps_.cancel != nullptr && deps_.cancel->load();
    if (type == GroupType::kCostBased && !cancelled) {
      file_exporter_->abort_unfinished_uploads(group, run, run.attempts, run.attempts,
                                               "the attempt failed");
    }
    throw;
  }
}

}  // namespace user_export
