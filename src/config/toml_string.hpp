#pragma once

#include <string>
#include <string_view>

namespace user_export::config_detail {

/// `text` as a TOML basic string, double-quoted, with `"`, `\` and control characters escaped.
/// Also used to show a value in an error message so invisible characters stay visible.
std::string toml_quote(std::string_view text);

/// `key` as a TOML key: bare when it only has letters, digits, `-` and `_`, else quoted.
std::string toml_key(std::string_view key);

/// `value` in the shortest form that reads back as the same double, always with a `.` or an
/// exponent so TOML reads it as a float.
std::string toml_float(double value);

}  // namespace user_export::config_detail
