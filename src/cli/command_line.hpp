#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "cli/commands.hpp"

namespace user_export {

/// One subcommand: its parser and what runs it once it was parsed (returns the exit code).
struct Subcommand {
  CLI::App* parser = nullptr;
  std::function<int()> run;
};

/// Adds `--config,-c` (into `common.config`) to `cmd`.
void add_config_option(CLI::App* cmd, CommonOptions& common);

/// The subcommands of `user-export`, each with its options (README, "Commands"). The options
/// live in the runners; `common` (--config) is shared and must outlive them.
/// `demo`, `export`, `migrate`, `seed`, `check-config`, `relay`: the batch job and its setup.
void add_job_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out);
/// `run`, `schedule`, `prune`: the service and its schedule and retention.
void add_service_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out);
/// `plan`, `verify`, `runs`, `runs show`, `replay`, `reexport`: the operator's toolkit
/// (docs/OPERATIONS.md).
void add_operator_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out);

/// Parses `argv` and runs the subcommand named; returns the process exit code. Usage errors
/// exit kExitUsage; an Error is printed as one `error: ...` line and mapped by exit_code_for().
int run_command_line(int argc, char** argv);

}  // namespace user_export
