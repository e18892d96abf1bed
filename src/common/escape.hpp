#pragma once

#include <string>
#include <string_view>

namespace user_export {

/// Appends `text` to `out` escaped for the inside of a double-quoted string in both JSON and
/// TOML: `"` and `\` are backslash-escaped, LF/CR/TAB become `\n`/`\r`/`\t`, other control
/// characters and DEL become `\u00XX`; every other byte is copied as is.
void append_escaped(std::string& out, std::string_view text);

}  // namespace user_export
