#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace user_export {

/// Options shared by the commands that read a configuration file.
struct CommonOptions {
  std::optional<std::string> config;  ///< --config; USER_EXPORT_CONFIG when absent
};

/// The configuration the command was given (`--config`, else USER_EXPORT_CONFIG) with the
/// environment applied and checked; logging is set up as it says (`[log] level` and `json`).
/// Throws Error(kConfig) naming every problem.
Config load_command_config(const CommonOptions& common);

/// `export`: one run now. Returns the process exit code.
int run_export_command(const CommonOptions& common, const std::vector<std::string>& group_ids,
                       const std::string& metrics_file);
/// `migrate`: applies pending migrations.
int run_migrate_command(const CommonOptions& common);
/// `seed`: loads synthetic groups and users.
int run_seed_command(const CommonOptions& common, std::int64_t users, int groups,
                     std::uint64_t random_seed);
/// `check-config FILE`: validates and prints the effective configuration, secrets redacted.
int run_check_config_command(const std::string& file);
/// `relay`: publishes what is pending in the outbox.
int run_relay_command(const CommonOptions& common);
/// `schedule`: prints the next `count` fire times strictly after `from` (default now).
int run_schedule_command(const CommonOptions& common, int count,
                         const std::optional<std::string>& from);
/// `run`: the scheduled service with its admin endpoint, until SIGTERM/SIGINT.
int run_service_command(const CommonOptions& common);
/// `prune`: deletes finished history older than `older_than_days` (default: `[retention]
/// days`) and prints what it deleted, one line per table.
int run_prune_command(const CommonOptions& common, std::optional<int> older_than_days);
/// What `runs` lists.
struct RunsOptions {
  std::optional<std::string> group;  ///< --group
  std::optional<std::string> state;  ///< --state
  std::optional<std::string> since;  ///< --since, a UTC instant
  std::size_t limit = 100;           ///< --limit
  bool json = false;                 ///< --json: a JSON array instead of a table
};
/// `runs`: the runs, newest first, as a table or a JSON array (the fields of GET /api/runs).
int run_runs_command(const CommonOptions& common, const RunsOptions& options);
/// `runs show RUN`: one run with its messages and recorded actions, as JSON.
int run_run_show_command(const CommonOptions& common, const std::string& run_id);
/// `replay --run ID --reason TEXT`: queues a finished run's messages again (audited).
int run_replay_command(const CommonOptions& common, const std::string& run_id,
                       const std::string& reason);
/// `reexport --run ID --reason TEXT [--now]`: sets a finished run's users back to unsent
/// (audited); with `now`, exports their group at once.
int run_reexport_command(const CommonOptions& common, const std::string& run_id,
                         const std::string& reason, bool now);
/// `plan`: prints what an export of every active group (or of `group_ids`) would do now, as a
/// table or as JSON, writing nothing.
int run_plan_command(const CommonOptions& common, const std::vector<std::string>& group_ids,
                     bool json);
/// `verify`: reconciles the finished runs `run_ids` (default: those created since `since`, by
/// default the last 24 hours), one line per run; 0 when all agree, 1 when one differs.
int run_verify_command(const CommonOptions& common, const std::vector<std::string>& run_ids,
                       const std::optional<std::string>& since);
/// `demo`: a self-contained export on the embedded backends in `dir`.
int run_demo_command(const std::string& dir, std::int64_t users, int groups);

}  // namespace user_export
