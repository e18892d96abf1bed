#include "cli/command_line.hpp"

#include <cstdio>
#include <exception>
#include <memory>

#include "common/error.hpp"
#include "common/version.hpp"

namespace user_export {

void add_config_option(CLI::App* cmd, CommonOptions& common) {
  cmd->add_option("--config,-c", common.config,
                  "configuration file (TOML); default: $USER_EXPORT_CONFIG");
}

int run_command_line(int argc, char** argv) {
  CLI::App app{
      "user-export: exports the users of matching groups not yet sent to the matching "
      "service, as gzip CSV files in an object store plus a message per file"};
  app.set_version_flag("--version", std::string("user-export ") + kVersion);
  app.require_subcommand(1);

  CommonOptions common;
  std::vector<Subcommand> commands;
  add_job_commands(app, common, commands);
  add_service_commands(app, common, commands);
  add_operator_commands(app, common, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  // The innermost parsed subcommand runs (`runs show` rather than `runs`): it was added later.
  const Subcommand* chosen = nullptr;
  for (const auto& c : commands) {
    if (c.parser->parsed()) chosen = &c;
  }
  if (chosen == nullptr) return kExitUsage;
  try {
    return chosen->run();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: unexpected failure: %s\n", e.what());
    return kExitFailed;
  }
}

void add_job_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  struct Demo {
    std::string dir = "demo";
    std::int64_t users = 10000;
    int groups = 4;
  };
  auto demo = std::make_shared<Demo>();
  auto* cmd = app.add_subcommand("demo", "create a demo database and export it locally");
  cmd->add_option("--dir", demo->dir, "demo directory (created)")->capture_default_str();
  cmd->add_option("--users", demo->users, "synthetic users")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
  cmd->add_option("--groups", demo->groups, "synthetic groups")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  out.push_back({cmd, [demo] { return run_demo_command(demo->dir, demo->users, demo->groups); }});

  struct Export {
    std::vector<std::string> groups;
    std::string metrics_file;
  };
  auto exp = std::make_shared<Export>();
  cmd = app.add_subcommand("export", "export every active group (or the given ones) now");
  add_config_option(cmd, common);
  cmd->add_option("--group,-g", exp->groups, "only this group id (repeatable)");
  cmd->add_option("--metrics-file", exp->metrics_file,
                  "write the run's metrics in Prometheus text format to this file");
  out.push_back(
      {cmd, [&common, exp] { return run_export_command(common, exp->groups, exp->metrics_file); }});

  cmd = app.add_subcommand("migrate", "apply pending database migrations");
  add_config_option(cmd, common);
  out.push_back({cmd, [&common] { return run_migrate_command(common); }});

  struct Seed {
    std::int64_t users = 1000;
    int groups = 2;
    std::uint64_t random = 1;
  };
  auto seed = std::make_shared<Seed>();
  cmd = app.add_subcommand("seed", "load synthetic groups, users and profiles");
  add_config_option(cmd, common);
  cmd->add_option("--users", seed->users, "users to create")
      ->required()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
  cmd->add_option("--groups", seed->groups, "groups to create")
      ->required()
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--seed", seed->random, "random seed")->capture_default_str();
  out.push_back({cmd, [&common, seed] {
                   return run_seed_command(common, seed->users, seed->groups, seed->random);
                 }});

  auto check_file = std::make_shared<std::string>();
  cmd = app.add_subcommand("check-config", "validate a configuration file and print it");
  cmd->add_option("file", *check_file, "configuration file")->required();
  out.push_back({cmd, [check_file] { return run_check_config_command(*check_file); }});

  cmd = app.add_subcommand("relay", "publish the messages pending in the outbox");
  add_config_option(cmd, common);
  out.push_back({cmd, [&common] { return run_relay_command(common); }});
}

void add_service_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  auto* cmd = app.add_subcommand("run", "run the scheduled service with its admin endpoint");
  add_config_option(cmd, common);
  out.push_back({cmd, [&common] { return run_service_command(common); }});

  auto days = std::make_shared<std::optional<int>>();
  cmd = app.add_subcommand(
      "prune", "delete finished runs, their claims and delivered messages older than N days");
  add_config_option(cmd, common);
  cmd->add_option("--older-than-days", *days,
                  "delete finished history older than this many days; default: [retention] days")
      ->check(CLI::Range(1, 36'500));
  out.push_back({cmd, [&common, days] { return run_prune_command(common, *days); }});

  struct Schedule {
    int next = 5;
    std::optional<std::string> from;
  };
  auto schedule = std::make_shared<Schedule>();
  cmd = app.add_subcommand("schedule", "print the next fire times of the schedule");
  add_config_option(cmd, common);
  cmd->add_option("--next,-n", schedule->next, "how many fire times")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--from", schedule->from,
                  "list fire times strictly after this UTC instant, e.g. "
                  "2026-11-25T00:00:00Z; default: now");
  out.push_back({cmd, [&common, schedule] {
                   return run_schedule_command(common, schedule->next, schedule->from);
                 }});
}

}  // namespace user_export
