#pragma once

#include <string>
#include <string_view>

namespace user_export {

/// A sample value as Prometheus parses it: integers without exponent while exact (|v| < 2^53),
/// other finite values in their shortest round-trip form, `+Inf`, `-Inf` and `NaN`.
std::string format_prometheus_number(double v);

/// A label value escaped for the text format: backslash, double quote and newline become
/// `\\`, `\"` and `\n`.
std::string escape_label_value(std::string_view value);

/// A HELP text escaped for the text format: backslash and newline become `\\` and `\n`.
std::string escape_help(std::string_view help);

/// Whether `name` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
bool is_valid_metric_name(std::string_view name);

/// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`,
/// which Prometheus reserves).
bool is_valid_label_name(std::string_view name);

}  // namespace user_export
