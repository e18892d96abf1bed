#pragma once

#include <string>
#include <string_view>

namespace user_export {

/// Named points between the steps of a run where tests inject crashes and failures, to prove
/// that a process dying anywhere loses nothing. Configured by the environment variable
/// `USER_EXPORT_FAULT=NAME[:ACTION][@N]` (read once), or by set_fault() in unit tests:
///   ACTION `kill` (default) raises SIGKILL — the process dies as if the machine lost power;
///   ACTION `fail` throws a retriable Error(kInternal) "injected fault at NAME";
///   ACTION `stop` raises SIGSTOP — the whole process pauses there until SIGCONT, like a process
///   that stalls (a paused container, a swapping machine), then carries on;
///   `@N` triggers on the N-th time the point is reached (default 1), once.
/// Points: after_claim, after_stage, after_upload, after_part (an id-list part stored, the next
/// not yet), before_commit, inside_commit (PostgreSQL: the commit's locks held, before COMMIT),
/// after_commit, after_publish.
/// When unset, fault_point() is a single relaxed atomic load. Thread-safe.
void fault_point(std::string_view name);

/// Replaces the configured fault (the same syntax; empty clears it). For tests.
void set_fault(const std::string& spec);

}  // namespace user_export
