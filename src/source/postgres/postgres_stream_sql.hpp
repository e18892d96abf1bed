#pragma once

#include <string>
#include <vector>

#include "common/uuid.hpp"

namespace user_export::pg {

/// The `COPY (SELECT …) TO STDOUT` statement that streams run `run_id`'s claimed users in id
/// order with `fields` (each one of known_source_fields(); else Error(kConfig)) as text:
/// timestamps `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`. COPY takes no parameters, so the run
/// id is embedded; it is a parsed Uuid, never caller text. Profiles are joined only when a
/// profile field is requested.
std::string stream_copy_sql(const Uuid& run_id, const std::vector<std::string>& fields);

}  // namespace user_export::pg
