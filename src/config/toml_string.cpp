#include "config/toml_string.hpp"

#include <charconv>
#include <cstdio>

#include "common/escape.hpp"

namespace user_export::config_detail {

std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  append_escaped(out, text);
  out += '"';
  return out;
}

std::string toml_key(std::string_view key) {
  bool bare = !key.empty();
  for (char ch : key) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    if (!ok) bare = false;
  }
  return bare ? std::string(key) : toml_quote(key);
}

std::string toml_float(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string out(buffer, result.ptr);
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

}  // namespace user_export::config_detail
