#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace user_export {

/// Where a source field is read from in the joined query.
enum class SourceTable {
  kUsers,     ///< a column of `users`
  kProfiles,  ///< a column of `profiles` (NULL when the user has no profile row)
};

/// The table of a field from known_source_fields(); throws Error(kConfig) for any other name.
SourceTable source_table_of(std::string_view field);

/// Throws Error(kConfig) naming the first field that is not in known_source_fields() and
/// listing the valid ones. Backends call it before building their SELECT, so the column names
/// they interpolate are always from the fixed list (never user text).
void require_known_source_fields(const std::vector<std::string>& fields);

}  // namespace user_export
