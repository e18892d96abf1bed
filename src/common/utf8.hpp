#pragma once

#include <string>
#include <string_view>

namespace user_export {

/// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF). ASCII is checked eight bytes at a time.
bool is_valid_utf8(std::string_view text);

/// Replaces `out` with `text`, each maximal ill-formed subsequence replaced by U+FFFD (the
/// Unicode "substitution of maximal subparts" practice); valid text is copied unchanged.
void replace_invalid_utf8(std::string_view text, std::string& out);

}  // namespace user_export
