#include "service/daemon_admin_hooks.hpp"

#include "common/error.hpp"
#include "plan/export_plan.hpp"
#include "source/group_selection.hpp"

namespace user_export {

AdminHooks daemon_admin_hooks(const DaemonParts& p) {
  AdminHooks hooks;
  hooks.not_ready = [p]() -> std::optional<std::string> {
    if (p.stopping) return "shutting down";
    try {
      p.rt.repository->schema_version();
    } catch (const std::exception& e) {
      return std::string("database unreachable: ") + e.what();
    }
    return std::nullopt;
  };
  hooks.metrics_text = [p] { return p.rt.metrics.prometheus_text(); };
  hooks.recent_runs = [p](std::size_t limit) { return p.rt.repository->recent_runs(limit); };
  hooks.run_detail = [p](const RunId& id) -> std::optional<std::string> {
    if (auto detail = p.run_operator.detail(id)) return detail->dump();
    return std::nullopt;
  };
  hooks.run_action = [p](const RunId& id, const std::string& action, const std::string& reason,
                         const std::string& actor) -> std::optional<std::string> {
    if (auto answer = p.run_operator.act(id, action, actor, reason)) return answer->dump();
    return std::nullopt;
  };
  hooks.pause = [p] { p.backpressure.pause(); };
  hooks.resume = [p] {
    p.backpressure.resume();
    p.scheduler.wake();
  };
  hooks.plan = [p](std::optional<std::string> group) {
    std::vector<std::string> ids;
    if (group) ids.push_back(*group);
    const auto groups = select_groups(*p.rt.repository, p.domain, ids);
    // The service exports in its next scheduled slot.
    const SystemTime now = p.rt.clock.now();
    const Slot slot =
        std::chrono::floor<std::chrono::seconds>(p.cron.next_after(now).value_or(now));
    ExportPlanner planner(p.config, *p.rt.repository, p.rt.store->key_prefix());
    std::vector<GroupPlan> plans;
    for (const auto& g : groups) plans.push_back(planner.plan(g, slot));
    return plan_json(plans);
  };
  hooks.trigger = [p](std::optional<std::string> group) {
    if (group) {
      GroupId id = GroupId::parse(*group);  // Error(kInvalidInput) when malformed
      auto found = p.rt.repository->find_group(id);
      if (!found || found->domain_id != p.domain) {
        throw Error(ErrorCode::kInvalidInput,
                    "group " + id.str() + " is not a group of domain " + p.domain.str());
      }
      group = id.str();
    }
    p.scheduler.trigger(group);
  };
  return hooks;
}

}  // namespace user_export
