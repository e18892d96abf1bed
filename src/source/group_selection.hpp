#pragma once

#include <string>
#include <vector>

#include "domain/group.hpp"
#include "source/repository.hpp"

namespace user_export {

/// The groups a command or the admin API acts on: every active group of `domain` when `ids` is
/// empty, else the groups `ids` names, each once however often or in whichever letter case it
/// was given. A malformed id, an unknown group or a group of another domain is
/// Error(kInvalidInput) in one sentence naming it.
std::vector<MatchingGroup> select_groups(Repository& repository, const DomainId& domain,
                                         const std::vector<std::string>& ids);

}  // namespace user_export
