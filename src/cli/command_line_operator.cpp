// The operator's subcommands and their options (docs/OPERATIONS.md, docs/SERVICE.md "Plan and
// verify"); declared in command_line.hpp.
#include <memory>

#include "cli/command_line.hpp"

namespace user_export {
namespace {

void add_plan_and_verify(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  struct Plan {
    std::vector<std::string> groups;
    bool json = false;
  };
  auto plan = std::make_shared<Plan>();
  auto* cmd = app.add_subcommand(
      "plan", "print what an export would do now (users, messages, bytes), writing nothing");
  add_config_option(cmd, common);
  cmd->add_option("--group,-g", plan->groups, "only this group id (repeatable)");
  cmd->add_flag("--json", plan->json, "print a JSON array instead of a table");
  out.push_back(
      {cmd, [&common, plan] { return run_plan_command(common, plan->groups, plan->json); }});

  struct Verify {
    std::vector<std::string> runs;
    std::optional<std::string> since;
  };
  auto verify = std::make_shared<Verify>();
  cmd = app.add_subcommand(
      "verify", "check finished runs against the store and the outbox; exit 1 when one differs");
  add_config_option(cmd, common);
  cmd->add_option("--run,-r", verify->runs, "only this run id (repeatable)");
  cmd->add_option("--since", verify->since,
                  "runs created at or after this UTC instant, e.g. 2026-11-25T00:00:00Z; "
                  "default: the last 24 hours");
  out.push_back(
      {cmd, [&common, verify] { return run_verify_command(common, verify->runs, verify->since); }});
}

void add_runs(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  auto options = std::make_shared<RunsOptions>();
  auto* runs = app.add_subcommand("runs", "list the runs, newest first (`runs show RUN`: one run)");
  add_config_option(runs, common);
  runs->add_option("--group,-g", options->group, "only this group's runs");
  runs->add_option("--state", options->state, "only runs in this state")
      ->check(CLI::IsMember({"claimed", "committed", "completed", "empty"}));
  runs->add_option("--since", options->since,
                   "only runs created at or after this UTC instant, e.g. 2026-11-25T00:00:00Z");
  runs->add_option("--limit,-n", options->limit, "at most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  runs->add_flag("--json", options->json, "print a JSON array (the fields of GET /api/runs)");
  out.push_back({runs, [&common, options] { return run_runs_command(common, *options); }});

  auto run_id = std::make_shared<std::string>();
  auto* show = runs->add_subcommand("show", "one run with its messages and actions, as JSON");
  add_config_option(show, common);
  show->add_option("run", *run_id, "run id")->required();
  out.push_back({show, [&common, run_id] { return run_run_show_command(common, *run_id); }});
}

void add_run_actions(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  struct Action {
    std::string run;
    std::string reason;
    bool now = false;
  };
  auto action = std::make_shared<Action>();
  auto* replay = app.add_subcommand(
      "replay", "publish a finished run's messages again (same runId and content, audited)");
  add_config_option(replay, common);
  replay->add_option("--run", action->run, "run id")->required();
  replay->add_option("--reason", action->reason, "why (kept for audit)")->required();
  out.push_back({replay, [&common, action] {
                   return run_replay_command(common, action->run, action->reason);
                 }});

  auto* reexport = app.add_subcommand(
      "reexport", "set a finished run's users back to unsent so a new run sends them (audited)");
  add_config_option(reexport, common);
  reexport->add_option("--run", action->run, "run id")->required();
  reexport->add_option("--reason", action->reason, "why (kept for audit)")->required();
  reexport->add_flag("--now", action->now, "export the run's group at once");
  out.push_back({reexport, [&common, action] {
                   return run_reexport_command(common, action->run, action->reason, action->now);
                 }});
}

}  // namespace

void add_operator_commands(CLI::App& app, CommonOptions& common, std::vector<Subcommand>& out) {
  add_plan_and_verify(app, common, out);
  add_runs(app, common, out);
  add_run_actions(app, common, out);
}

}  // namespace user_export
