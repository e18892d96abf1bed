#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace user_export {

/// `2026-11-25T20:59:00Z` (seconds precision, UTC).
std::string format_iso8601(SystemTime t);
/// `2026-11-25T20:59:00.123Z` (milliseconds precision, UTC).
std::string format_iso8601_ms(SystemTime t);
/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; nullopt when malformed or outside the years 1678..2261
/// that SystemTime can hold.
std::optional<SystemTime> parse_iso8601(std::string_view text);

}  // namespace user_export
