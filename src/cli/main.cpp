// user-export: exports the users of matching groups to gzip CSV files and messages.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/version.hpp"

using namespace user_export;

int main(int argc, char** argv) {
  CLI::App app{
      "user-export: exports the users of matching groups not yet sent to the matching "
      "service, as gzip CSV files in an object store plus a message per file"};
  app.set_version_flag("--version", std::string("user-export ") + kVersion);
  app.require_subcommand(1);

  CommonOptions common;
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("--config,-c", common.config,
                    "configuration file (TOML); default: $USER_EXPORT_CONFIG");
  };

  auto* demo = app.add_subcommand("demo", "create a demo database and export it locally");
  std::string demo_dir = "demo";
  std::int64_t demo_users = 10000;
  int demo_groups = 4;
  demo->add_option("--dir", demo_dir, "demo directory (created)")->capture_default_str();
  demo->add_option("--users", demo_users, "synthetic users")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
  demo->add_option("--groups", demo_groups, "synthetic groups")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  auto* exp = app.add_subcommand("export", "export every active group (or the given ones) now");
  add_config(exp);
  std::vector<std::string> group_ids;
  std::string metrics_file;
  exp->add_option("--group,-g", group_ids, "only this group id (repeatable)");
  exp->add_option("--metrics-file", metrics_file,
                  "write the run's metrics in Prometheus text format to this file");

  auto* migrate = app.add_subcommand("migrate", "apply pending database migrations");
  add_config(migrate);

  auto* seed = app.add_subcommand("seed", "load synthetic groups, users and profiles");
  add_config(seed);
  std::int64_t seed_users = 1000;
  int seed_groups = 2;
  std::uint64_t seed_random = 1;
  seed->add_option("--users", seed_users, "users to create")
      ->required()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
  seed->add_option("--groups", seed_groups, "groups to create")
      ->required()
      ->check(CLI::Range(1, 1'000'000));
  seed->add_option("--seed", seed_random, "random seed")->capture_default_str();

  auto* check = app.add_subcommand("check-config", "validate a configuration file and print it");
  std::string check_file;
  check->add_option("file", check_file, "configuration file")->required();

  auto* relay = app.add_subcommand("relay", "publish the messages pending in the outbox");
  add_config(relay);

  auto* run = app.add_subcommand("run", "run the scheduled service with its admin endpoint");
  add_config(run);

  auto* prune = app.add_subcommand(
      "prune", "delete finished runs, their claims and delivered messages older than N days");
  add_config(prune);
  std::optional<int> prune_days;
  prune
      ->add_option("--older-than-days", prune_days,
                   "delete finished history older than this many days; default: [retention] days")
      ->check(CLI::Range(1, 36'500));

  auto* plan = app.add_subcommand(
      "plan", "print what an export would do now (users, messages, bytes), writing nothing");
  add_config(plan);
  std::vector<std::string> plan_groups;
  bool plan_json = false;
  plan->add_option("--group,-g", plan_groups, "only this group id (repeatable)");
  plan->add_flag("--json", plan_json, "print a JSON array instead of a table");

  auto* verify = app.add_subcommand(
      "verify", "check finished runs against the store and the outbox; exit 1 when one differs");
  add_config(verify);
  std::vector<std::string> verify_runs;
  std::optional<std::string> verify_since;
  verify->add_option("--run,-r", verify_runs, "only this run id (repeatable)");
  verify->add_option("--since", verify_since,
                     "runs created at or after this UTC instant, e.g. 2026-11-25T00:00:00Z; "
                     "default: the last 24 hours");

  auto* schedule = app.add_subcommand("schedule", "print the next fire times of the schedule");
  add_config(schedule);
  int schedule_next = 5;
  std::optional<std::string> schedule_from;
  schedule->add_option("--next,-n", schedule_next, "how many fire times")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  schedule->add_option("--from", schedule_from,
                       "list fire times strictly after this UTC instant, e.g. "
                       "2026-11-25T00:00:00Z; default: now");

  auto* runs = app.add_subcommand("runs", "list the runs, newest first (`runs show RUN`: one run)");
  add_config(runs);
  RunsOptions runs_options;
  runs->add_option("--group,-g", runs_options.group, "only this group's runs");
  runs->add_option("--state", runs_options.state, "only runs in this state")
      ->check(CLI::IsMember({"claimed", "committed", "completed", "empty"}));
  runs->add_option("--since", runs_options.since,
                   "only runs created at or after this UTC instant, e.g. 2026-11-25T00:00:00Z");
  runs->add_option("--limit,-n", runs_options.limit, "at most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  runs->add_flag("--json", runs_options.json, "print a JSON array (the fields of GET /api/runs)");
  auto* runs_show = runs->add_subcommand("show", "one run with its messages and actions, as JSON");
  add_config(runs_show);
  std::string show_run;
  runs_show->add_option("run", show_run, "run id")->required();

  std::string action_run;
  std::string action_reason;
  auto* replay = app.add_subcommand(
      "replay", "publish a finished run's messages again (same runId and content, audited)");
  add_config(replay);
  replay->add_option("--run", action_run, "run id")->required();
  replay->add_option("--reason", action_reason, "why (kept for audit)")->required();

  auto* reexport = app.add_subcommand(
      "reexport", "set a finished run's users back to unsent so a new run sends them (audited)");
  add_config(reexport);
  bool reexport_now = false;
  reexport->add_option("--run", action_run, "run id")->required();
  reexport->add_option("--reason", action_reason, "why (kept for audit)")->required();
  reexport->add_flag("--now", reexport_now, "export the run's group at once");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (*demo) return run_demo_command(demo_dir, demo_users, demo_groups);
    if (*exp) return run_export_command(common, group_ids, metrics_file);
    if (*migrate) return run_migrate_command(common);
    if (*seed) return run_seed_command(common, seed_users, seed_groups, seed_random);
    if (*check) return run_check_config_command(check_file);
    if (*relay) return run_relay_command(common);
    if (*schedule) return run_schedule_command(common, schedule_next, schedule_from);
    if (*run) return run_service_command(common);
    if (*prune) return run_prune_command(common, prune_days);
    if (*runs_show) return run_run_show_command(common, show_run);
    if (*runs) return run_runs_command(common, runs_options);
    if (*replay) return run_replay_command(common, action_run, action_reason);
    if (*reexport) return run_reexport_command(common, action_run, action_reason, reexport_now);
    if (*plan) return run_plan_command(common, plan_groups, plan_json);
    if (*verify) return run_verify_command(common, verify_runs, verify_since);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: unexpected failure: %s\n", e.what());
    return kExitFailed;
  }
  return kExitUsage;
}
