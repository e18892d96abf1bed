#include "common/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace user_export {
namespace {

/// What a lead byte promises: the sequence length and the bounds of the second byte
/// (tighter than 80..BF where RFC 3629 excludes overlong forms, surrogates and > U+10FFFF).
/// Length 0 means the byte cannot start a sequence.
struct Lead {
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
};

Lead lead_of(unsigned char c) {
  if (c < 0x80) return {1};
  if (c >= 0xC2 && c <= 0xDF) return {2};
  if (c == 0xE0) return {3, 0xA0, 0xBF};
  if (c == 0xED) return {3, 0x80, 0x9F};
  if (c >= 0xE1 && c <= 0xEF) return {3};
  if (c == 0xF0) return {4, 0x90, 0xBF};
  if (c == 0xF4) return {4, 0x80, 0x8F};
  if (c >= 0xF1 && c <= 0xF3) return {4};
  return {};
}

/// How many bytes from `s[i]` form a valid prefix of the sequence its lead byte starts (at
/// least 1), and whether that prefix is the whole sequence.
std::size_t prefix_length(std::string_view s, std::size_t i, bool& complete) {
  const Lead lead = lead_of(static_cast<unsigned char>(s[i]));
  complete = lead.len == 1;
  if (lead.len <= 1) return 1;
  std::size_t n = 1;
  for (; n < lead.len && i + n < s.size(); ++n) {
    const auto b = static_cast<unsigned char>(s[i + n]);
    const bool ok = n == 1 ? (b >= lead.lo && b <= lead.hi) : (b & 0xC0) == 0x80;
    if (!ok) break;
  }
  complete = n == lead.len;
  return n;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    bool complete = false;
    i += prefix_length(text, i, complete);
    if (!complete) return false;
  }
  return true;
}

void replace_invalid_utf8(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    bool complete = false;
    const std::size_t len = prefix_length(text, i, complete);
    if (complete) {
      out.append(text.data() + i, len);
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for the maximal ill-formed subpart
    }
    i += len;
  }
}

}  // namespace user_export
