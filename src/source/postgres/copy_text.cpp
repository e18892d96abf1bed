#include "source/postgres/copy_text.hpp"

#include <cstring>

namespace user_export::pg {
namespace {

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the escapes of [begin, end) in place from the first backslash `from` on; returns the
// new end.
char* unescape(char* from, char* end) {
  char* out = from;
  char* in = from;
  while (in < end) {
    char c = *in++;
    if (c != '\\' || in == end) {
      *out++ = c;
      continue;
    }
    c = *in++;
    switch (c) {
      case 'b':
        *out++ = '\b';
        break;
      case 'f':
        *out++ = '\f';
        break;
      case 'n':
        *out++ = '\n';
        break;
      case 'r':
        *out++ = '\r';
        break;
      case 't':
        *out++ = '\t';
        break;
      case 'v':
        *out++ = '\v';
        break;
      case 'x': {
        int high = in < end ? hex_value(*in) : -1;
        if (high < 0) {
          *out++ = 'x';
          break;
        }
        ++in;
        int value = high;
        int low = in < end ? hex_value(*in) : -1;
        if (low >= 0) {
          ++in;
          value = value * 16 + low;
        }
        *out++ = static_cast<char>(value);
        break;
      }
      default:
        if (is_octal(c)) {
          int value = c - '0';
          for (int i = 0; i < 2 && in < end && is_octal(*in); ++i)
            value = value * 8 + (*in++ - '0');
          *out++ = static_cast<char>(value);
        } else {
          *out++ = c;  // `\\` and any other escaped character stand for themselves
        }
    }
  }
  return out;
}

}  // namespace

bool split_copy_line(char* line, std::size_t length,
                     std::span<std::optional<std::string_view>> fields) {
  char* p = line;
  char* const end = line + length;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto* tab = static_cast<char*>(std::memchr(p, '\t', static_cast<std::size_t>(end - p)));
    bool last = i + 1 == fields.size();
    if ((tab == nullptr) != last) return false;  // too few or too many fields
    char* field_end = last ? end : tab;
    auto size = static_cast<std::size_t>(field_end - p);
    if (size == 2 && p[0] == '\\' && p[1] == 'N') {
      fields[i] = std::nullopt;
    } else if (auto* slash = static_cast<char*>(std::memchr(p, '\\', size))) {
      char* new_end = unescape(slash, field_end);
      fields[i] = std::string_view(p, static_cast<std::size_t>(new_end - p));
    } else {
      fields[i] = std::string_view(p, size);
    }
    p = field_end + 1;
  }
  return !fields.empty() || length == 0;
}

void append_copy_value(std::string& out, std::optional<std::string_view> value) {
  if (!value) {
    out += "\\N";
    return;
  }
  std::string_view text = *value;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* escape = nullptr;
    switch (text[i]) {
      case '\\':
        escape = "\\\\";
        break;
      case '\t':
        escape = "\\t";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      default:
        continue;
    }
    out.append(text.substr(start, i - start));
    out += escape;
    start = i + 1;
  }
  out.append(text.substr(start));
}

}  // namespace user_export::pg
