// `user-export plan`: what an export would do now, without writing anything (docs/SERVICE.md).
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "plan/export_plan.hpp"
#include "runtime/runtime.hpp"
#include "source/group_selection.hpp"

namespace user_export {

int run_plan_command(const CommonOptions& common, const std::vector<std::string>& group_ids,
                     bool json) {
  Config config = load_command_config(common);
  const DomainId domain = DomainId::parse(config.export_.domain_id);
  Runtime runtime(config, RepositoryAccess::kReadOnly);  // the database only: no store check, sink,
                                                         // staging dir or sweep
  require_schema(*runtime.repository);                   // never migrates: plan writes nothing
  // Opening a store sends nothing and creates nothing; only its key prefix is read.
  const std::string prefix = open_object_store(config.store)->key_prefix();
  const auto groups = select_groups(*runtime.repository, domain, group_ids);
  // A one-shot export's slot is the current second.
  const Slot slot = std::chrono::floor<std::chrono::seconds>(runtime.clock.now());
  ExportPlanner planner(config, *runtime.repository, prefix);
  std::vector<GroupPlan> plans;
  plans.reserve(groups.size());
  for (const auto& group : groups) plans.push_back(planner.plan(group, slot));
  if (json) {
    std::cout << plan_json(plans) << "\n";
  } else {
    print_plan_table(std::cout, plans);
  }
  return kExitOk;
}

}  // namespace user_export
