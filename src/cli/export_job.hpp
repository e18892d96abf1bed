#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "cli/runtime.hpp"
#include "exporter/export_service.hpp"
#include "publish/outbox_relay.hpp"

namespace user_export {

/// What `export` (and `demo`) should do.
struct ExportJobOptions {
  std::vector<std::string> group_ids;            ///< only these groups; empty = every active group
  std::filesystem::path show_paths_relative_to;  ///< shorten file paths in the table
};

/// What happened.
struct ExportJobResult {
  std::vector<GroupResult> groups;
  RelayStats relay;
  int exit_code = 0;  ///< 0 all groups exported and every message delivered, else 1
};

/// One export run now: migrate, load the groups, export them in parallel on the worker pool,
/// relay the outbox, print a table per group to `out`. Group failures are reported, not thrown.
/// Throws Error for what stops the whole run (config, database unreachable, unknown group id).
ExportJobResult run_export_job(Runtime& runtime, const ExportJobOptions& options,
                               std::ostream& out);

}  // namespace user_export
