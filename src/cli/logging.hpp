#pragma once

#include <string>

namespace user_export {

/// Sends logs to stderr at `level` (trace, debug, info, warn, error, off), as text lines with an
/// ISO-8601 UTC timestamp. Throws Error(kConfig) for an unknown level.
void init_logging(const std::string& level);

}  // namespace user_export
