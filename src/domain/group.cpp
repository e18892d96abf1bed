#include "domain/group.hpp"

#include "common/error.hpp"

namespace user_export {

const char* to_string(GroupType type) {
  return type == GroupType::kCostBased ? "COST_BASED" : "NON_COST_BASED";
}

std::optional<GroupType> parse_group_type(std::string_view text) {
  if (text == "COST_BASED") return GroupType::kCostBased;
  if (text == "NON_COST_BASED") return GroupType::kNonCostBased;
  return std::nullopt;
}

GroupType MatchingGroup::type() const {
  auto parsed = parse_group_type(type_name);
  if (!parsed) {
    throw Error(ErrorCode::kInvalidInput,
                "group " + id.str() + " has unknown group type '" + type_name +
                    "' (expected COST_BASED or NON_COST_BASED); fix matching_groups.group_type");
  }
  return *parsed;
}

}  // namespace user_export
