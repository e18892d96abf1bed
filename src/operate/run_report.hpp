#pragma once

// What `user-export runs` and the admin API's /api/runs answer about runs: one JSON shape,
// written once (docs/OPERATIONS.md).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "domain/run.hpp"
#include "source/repository.hpp"

namespace user_export {

/// One run with camelCase fields: runId, groupId, slot, state, users, rows, bytes, sha256,
/// attempts, leaseOwner, objectKey, error, createdAt, updatedAt, seconds.
nlohmann::json run_json(const ExportRun& run);
/// The runs as a JSON array of run_json().
nlohmann::json runs_json(const std::vector<ExportRun>& runs);
/// One recorded action: action, actor, reason, count, at.
nlohmann::json action_json(const RunAction& action);
/// One of a run's outbox messages and its delivery state: outboxId, seq, topic, key, state,
/// attempts, lastError, createdAt, publishedAt (null until delivered or dead-lettered), headers
/// (an object; a replayed copy carries `replay`) and payload (the message's JSON).
nlohmann::json message_json(const RunMessage& message);
/// run_json() plus `actions`, the run's recorded operator actions, oldest first, and `messages`,
/// its outbox messages with their delivery state, in send order.
nlohmann::json run_detail_json(const ExportRun& run, const std::vector<RunAction>& actions,
                               const std::vector<RunMessage>& messages);

/// The runs as an aligned text table (one line per run, newest first), for a terminal.
std::string runs_table(const std::vector<ExportRun>& runs);

}  // namespace user_export
