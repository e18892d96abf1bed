#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "cli/graceful_stop.hpp"
#include "exporter/export_service.hpp"
#include "publish/outbox_relay.hpp"
#include "runtime/runtime.hpp"

namespace user_export {

/// What `export` (and `demo`) should do.
struct ExportJobOptions {
  std::vector<std::string> group_ids;            ///< only these groups; empty = every active group
  std::filesystem::path show_paths_relative_to;  ///< shorten file paths in the table
  /// The command's graceful stop (SIGTERM/SIGINT), or null: once it began, no group starts,
  /// no message is sent, and the exit code is kExitInterrupted.
  GracefulStop* stop = nullptr;
};

/// What happened.
struct ExportJobResult {
  std::vector<GroupResult> groups;
  RelayStats relay;
  /// 0 all groups exported and every message delivered, 3 stopped by a signal, else 1.
  int exit_code = 0;
};

/// One export run now: migrate, load the groups, export them in parallel on the worker pool,
/// relay the outbox, print a table per group to `out`. Group failures are reported, not thrown.
/// Throws Error for what stops the whole run (config, database unreachable, unknown group id).
ExportJobResult run_export_job(Runtime& runtime, const ExportJobOptions& options,
                               std::ostream& out);

}  // namespace user_export
