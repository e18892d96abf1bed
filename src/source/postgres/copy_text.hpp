#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace user_export::pg {

/// Splits one line of PostgreSQL's COPY text format (fields separated by tabs, `\N` for NULL,
/// backslash escapes `\b \f \n \r \t \v \\`, `\ooo` octal and `\xhh` hex, any other escaped
/// character standing for itself) into `fields`. Escapes are decoded in place, so the views
/// point into `line` and no memory is allocated. Returns false when the line does not have
/// exactly `fields.size()` fields.
bool split_copy_line(char* line, std::size_t length,
                     std::span<std::optional<std::string_view>> fields);

/// Appends `value` to `out` escaped for COPY text format (a tab, newline, carriage return or
/// backslash becomes its escape); nullopt appends `\N`.
void append_copy_value(std::string& out, std::optional<std::string_view> value);

}  // namespace user_export::pg
