#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "domain/group.hpp"
#include "domain/run.hpp"
#include "source/postgres/pg_connection.hpp"

// Conversions between the exporter's types and PostgreSQL's text forms, shared by the
// PostgresRepository's source files.
namespace user_export::pg {

/// The columns read_run() expects, in order, for `SELECT … FROM export_runs`.
extern const char* const kRunColumns;
/// The columns read_group() expects, in order, for `SELECT … FROM matching_groups`.
extern const char* const kGroupColumns;

/// `t` as a timestamptz literal in UTC with microseconds (`2026-01-01 00:00:00.000000+00`).
std::string timestamp_param(SystemTime t);
/// `{a,b,…}`: an array literal of values that need no quoting (parsed UUIDs, numbers), for a
/// parameter cast to `uuid[]` or `bigint[]`.
std::string array_param(const std::vector<std::string>& values);
/// array_param of run ids.
std::string array_param(const std::vector<RunId>& values);
/// array_param of integers.
std::string array_param(std::span<const std::int64_t> values);
/// Microseconds since the epoch as read from `(extract(epoch FROM col) * 1000000)::bigint`.
SystemTime from_micros(std::int64_t micros);

/// One row of kRunColumns.
ExportRun read_run(const Result& result, int row);
/// One row of kGroupColumns.
MatchingGroup read_group(const Result& result, int row);

/// Throws Error(kLeaseLost) saying why `owner` with token `attempt` cannot `action` run
/// `run_id` (lease_problem(): no such run, the run is finished, the lease was released, is held
/// by another owner or a later attempt, or expired).
[[noreturn]] void throw_lease_lost(Connection& connection, const RunId& run_id,
                                   const OwnerId& owner, int attempt, SystemTime now,
                                   const char* action);

}  // namespace user_export::pg
