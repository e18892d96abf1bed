#include "exporter/export_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "exporter/file_exporter.hpp"
#include "exporter/group_report.hpp"
#include "exporter/id_list_exporter.hpp"
#include "exporter/small_group_batch.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"
#include "resilience/retry.hpp"
#include "source/lease_rule.hpp"

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
  if (stopping()) return not_started(group);
  std::optional<ActiveGroups::Hold> hold = active_.try_hold(group.id);
  if (!hold) return skipped_as_busy(group, slot);
  // The latest run an attempt claimed and that attempt's number: the retries' log lines and a
  // failure's result name them.
  RunId run_id;
  int claimed_attempt = 0;
  GroupResult result;
  try {
    const GroupType type = group.type();
    Retry retry(deps_.config.retry, deps_.sleeper, deps_.random);
    result = retry.run(
        [&](int attempt_no) -> GroupResult {
          const auto began = deps_.clock.monotonic();
          if (attempt_no > 1 && stopping()) {
            throw Error(ErrorCode::kInternal,
                        "not retried: shutting down; the claim is kept and the next run resumes it",
                        false);
          }
          ExportRun run;
          try {
            run = claim(group, slot);
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kLeaseLost) throw;
            return claim_refused(group, e, run_id, claimed_attempt);
          }
          run_id = run.run_id;
          claimed_attempt = attempt_no;
          return attempt(group, type, run, attempt_no, began);
        },
        [&](int attempt_no, const std::exception& e, Duration delay) {
          log_retry(group, slot, run_id, attempt_no, e, delay);
        });
  } catch (const std::exception& e) {
    result = failed(group, e, run_id, claimed_attempt);
  }
  result.seconds = seconds_since(deps_.clock, started);
  if (result.outcome == GroupOutcome::kSkipped) {
    // The claim was refused: another instance holds a live lease on the group's run.
    deps_.metrics.counter(meters::kGroupsSkipped, {{"group_id", group.id.str()}}).inc();
    log::info("group skipped: another instance owns the run",
              {{"group_id", group.id.str()},
               {"slot", format_iso8601(SystemTime{slot})},
               {"reason", result.error}});
    return result;
  }
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
  result.outcome = GroupOutcome::kSkipped;
  result.error = "another export of this process is exporting the group";
  deps_.metrics.counter(meters::kGroupsSkipped, {{"group_id", group.id.str()}}).inc();
  log::warn("group skipped: this process is already exporting it",
            {{"group_id", group.id.str()}, {"slot", format_iso8601(SystemTime{slot})}});
  return result;
}

GroupResult ExportService::not_started(const MatchingGroup& group) const {
  GroupResult result;
  result.group = group;
  result.outcome = GroupOutcome::kSkipped;
  result.error = "not started: shutting down";
  return result;
}

GroupResult ExportService::claim_refused(const MatchingGroup& group, const Error& e,
                                         const RunId& run_id, int attempts) const {
  GroupResult result;
  result.group = group;
  result.run_id = run_id;
  result.attempts = attempts;
  result.outcome = GroupOutcome::kSkipped;
  result.error = e.what();
  result.error_code = e.code();
  return result;
}

GroupResult ExportService::failed(const MatchingGroup& group, const std::exception& e,
                                  const RunId& run_id, int attempts) {
  GroupResult result;
  result.group = group;
  result.run_id = run_id;
  result.attempts = attempts;
  result.outcome = GroupOutcome::kFailed;
  result.error = e.what();
  result.error_code = ErrorCode::kInternal;
  if (const auto* error = dynamic_cast<const Error*>(&e)) {
    result.error_code = error->code();
    if (error->code() == ErrorCode::kInvalidInput && !parse_group_type(group.type_name)) {
      deps_.metrics
          .counter(meters::kInvalidGroupType,
                   {{"group_id", group.id.str()}, {"group_type", group.type_name}})
          .inc();
    }
  }
  return result;
}

void ExportService::log_retry(const MatchingGroup& group, Slot slot, const RunId& run_id,
                              int attempt_no, const std::exception& e, Duration delay) {
  deps_.metrics.counter(meters::kRetries, {{"group_id", group.id.str()}}).inc();
  log::warn("export attempt failed, retrying",
            {{"run_id", run_id},
             {"group_id", group.id.str()},
             {"slot", format_iso8601(SystemTime{slot})},
             {"attempt", attempt_no},
             {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()},
             {"error", e.what()}});
}

ExportRun ExportService::claim(const MatchingGroup& group, Slot slot) {
  ClaimRequest claim;
  claim.group_id = group.id;
  claim.domain_id = group.domain_id;
  claim.slot = slot;
  claim.owner = deps_.owner;
  claim.lease = deps_.config.export_.lease;
  claim.new_run_id = RunId(Uuid::random(deps_.random).str());
  claim.owner_is_dead = local_owner_id_is_dead;
  claim.once_per_slot = deps_.once_per_slot;
  return deps_.repository.claim(claim);
}

GroupResult ExportService::attempt(const MatchingGroup& group, GroupType type, const ExportRun& run,
                                   int attempt_no, std::chrono::steady_clock::time_point began) {
  GroupResult result;
  result.group = group;
  result.attempts = attempt_no;
  result.run_id = run.run_id;
  result.state = run.state;
  result.resumed = run.resumed;
  if (run.state != RunState::kClaimed) {
    result.outcome = GroupOutcome::kAlreadyDone;
    result.rows = run.rows;
    return result;
  }
  if (run.resumed) {
    log::info("resuming unfinished run", {{"run_id", run.run_id},
                                          {"group_id", group.id.str()},
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
      result.outcome = GroupOutcome::kEmpty;
      result.state = RunState::kEmpty;
      return result;
    }
    lease.emplace(deps_.repository, deps_.clock, LeaseKeeper::Run{run.run_id, run.attempts},
                  deps_.owner, deps_.config.export_.lease, deps_.cancel, deps_.lease_poll);
    // Declared after the keeper: if the attempt fails, its marks are rolled back first.
    std::unique_ptr<OpenCommit> marking = begin_marking(group, run);
    ExportOutcome outcome = exporter_for(type).export_run(group, run, *lease);
    fault_point("before_commit");
    lease->check(0);
    result.rows = outcome.rows;
    result.messages = outcome.message_count();
    result.file = outcome.file;
    lease->committing();
    commit(group, run, std::move(outcome), std::move(marking));
    lease.reset();
    fault_point("after_commit");
    if (result.file) file_exporter_->after_commit(group, run, *result.file);
    result.outcome = GroupOutcome::kExported;
    result.state = result.messages == 0 ? RunState::kCompleted : RunState::kCommitted;
    count_committed(deps_, result, deps_.config.export_.mark_sent,
                    seconds_since(deps_.clock, began));
    return result;
  } catch (const std::exception& e) {
    after_failure(group, type, run, e);
    throw;
  }
}

std::unique_ptr<OpenCommit> ExportService::begin_marking(const MatchingGroup& group,
                                                         const ExportRun& run) {
  if (!deps_.config.export_.mark_sent || !deps_.config.export_.mark_while_streaming) {
    return nullptr;
  }
  // Only for the one group this process is exporting: two markings at once of groups whose
  // users share the table's pages contend for them, and beginning every marking early makes
  // them overlap more (docs/ARCHITECTURE.md, "Marking while streaming").
  if (active_.count() > 1) return nullptr;
  try {
    // A stalled process's open transaction ends when its lease would: the marked users are
    // then free for the attempt that takes the run over.
    return deps_.repository.begin_commit(run.run_id, deps_.owner, run.attempts,
                                         deps_.config.export_.lease);
  } catch (const std::exception& e) {
    log::info("could not begin marking the run's users during the stream; the commit marks them",
              {{"run_id", run.run_id}, {"group_id", group.id.str()}, {"error", e.what()}});
    return nullptr;
  }
}

void ExportService::commit(const MatchingGroup& group, const ExportRun& run, ExportOutcome outcome,
                           std::unique_ptr<OpenCommit> marking) {
  CommitRequest commit;
  commit.run_id = run.run_id;
  commit.owner = deps_.owner;
  commit.attempt = run.attempts;
  commit.mark_sent = deps_.config.export_.mark_sent;
  commit.file = outcome.file;
  commit.messages = std::move(outcome.messages);
  commit.staged_parts = outcome.staged_parts;
  try {
    if (marking && marking->finish(commit)) {
      deps_.metrics.counter(meters::kMarkedWhileStreaming, {{"outcome", "committed"}}).inc();
    } else {
      if (marking) {
        log::info(
            "the transaction that marked the run's users during the stream could not "
            "commit; the commit marks them again",
            {{"run_id", run.run_id}, {"group_id", group.id.str()}});
        deps_.metrics.counter(meters::kMarkedWhileStreaming, {{"outcome", "fell_back"}}).inc();
      }
      marking.reset();  // its marks (and their locks) are released before the commit's own
      deps_.repository.commit(commit);
    }
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
}

void ExportService::after_failure(const MatchingGroup& group, GroupType type, const ExportRun& run,
                                  const std::exception& e) {
  deps_.metrics.counter(meters::kBatchFailures, {{"group_id", group.id.str()}}).inc();
  const auto* error = dynamic_cast<const Error*>(&e);
  const bool lost = error != nullptr && error->code() == ErrorCode::kLeaseLost;
  try {
    // A lost lease is not this attempt's to record: the run is another attempt's now.
    if (!lost) deps_.repository.record_failure(run.run_id, deps_.owner, run.attempts, e.what());
  } catch (const std::exception& inner) {
    log::warn("could not record the failure of the run",
              {{"run_id", run.run_id},
               {"group_id", group.id.str()},
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
}

}  // namespace user_export
