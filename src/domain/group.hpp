#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/ids.hpp"

namespace user_export {

/// How a group is exported: cost-based groups get a CSV file, the others a list of ref ids.
enum class GroupType { kCostBased, kNonCostBased };

/// `COST_BASED` or `NON_COST_BASED`.
const char* to_string(GroupType type);
/// Parses the stored name (exact, upper case); nullopt for anything else.
std::optional<GroupType> parse_group_type(std::string_view text);

/// A matching group as stored. `type_name` is kept raw so that one group with an unknown type
/// fails alone (with a metric) instead of failing the load of every group.
struct MatchingGroup {
  GroupId id;
  DomainId domain_id;
  std::string name;
  std::string type_name;
  bool active = true;

  /// The parsed type; throws Error(kInvalidInput) naming the group and the value when unknown.
  GroupType type() const;
};

}  // namespace user_export
