#include "source/group_selection.hpp"

#include <set>

#include "common/error.hpp"

namespace user_export {

std::vector<MatchingGroup> select_groups(Repository& repository, const DomainId& domain,
                                         const std::vector<std::string>& ids) {
  if (ids.empty()) return repository.active_groups(domain);
  std::vector<MatchingGroup> groups;
  std::set<GroupId> seen;  // one group named twice (in any letter case) counts once
  for (const auto& text : ids) {
    const GroupId id = GroupId::parse(text);  // Error(kInvalidInput) when malformed
    if (!seen.insert(id).second) continue;
    auto group = repository.find_group(id);
    if (!group) {
      throw Error(ErrorCode::kInvalidInput,
                  "group " + id.str() +
                      " does not exist; check the id with the matching_groups "
                      "table");
    }
    if (group->domain_id != domain) {
      throw Error(ErrorCode::kInvalidInput, "group " + id.str() + " belongs to domain " +
                                                group->domain_id.str() +
                                                ", not to the configured domain " + domain.str());
    }
    groups.push_back(*group);
  }
  return groups;
}

}  // namespace user_export
