#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "domain/ids.hpp"

namespace user_export {

/// The scheduled fire time of a run (a UTC instant, whole seconds). `(group_id, slot)` identifies
/// a run and is the idempotency key everywhere.
using Slot = std::chrono::sys_seconds;

/// The life of one run of one group:
///   claimed   -> the exact set of users is recorded; streaming/upload in progress or failed
///                (a claimed run is resumed, same users and same object key, by the next attempt)
///   committed -> users marked sent and the message(s) are in the outbox, not yet all delivered
///   completed -> every outbox message of the run was delivered (or dead-lettered)
///   empty     -> there was nobody to export; nothing was written or sent
enum class RunState { kClaimed, kCommitted, kCompleted, kEmpty };

/// `claimed`, `committed`, `completed`, `empty`.
const char* to_string(RunState state);
/// Parses the stored name; nullopt for anything else.
std::optional<RunState> parse_run_state(std::string_view text);

/// One export run of one group for one slot, as stored.
struct ExportRun {
  RunId run_id;  ///< UUID text; stable across resumes; part of the object key and message.
  GroupId group_id;
  DomainId domain_id;
  Slot slot{};
  RunState state = RunState::kClaimed;
  std::int64_t item_count = 0;  ///< Users claimed by this run.
  int attempts = 0;             ///< Attempts started so far (1 on the first claim).
  bool resumed = false;         ///< True when claim() returned an earlier unfinished run.
  OwnerId lease_owner;
  SystemTime lease_expires_at{};
  std::string last_error;
  // Filled in at commit for file runs.
  std::string object_key;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  std::string sha256;
  SystemTime created_at{};
  SystemTime updated_at{};
};

}  // namespace user_export
