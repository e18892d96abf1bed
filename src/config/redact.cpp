#include "config/redact.hpp"

namespace user_export {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
        hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string redact_url_password(std::string_view url) {
  std::string out(url);
  auto scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    auto authority_begin = scheme_end + 3;
    auto authority_end = out.find_first_of("/?#", authority_begin);
    if (authority_end == std::string::npos) authority_end = out.size();
    auto at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority_begin) {
      auto colon = out.find(':', authority_begin);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, kRedacted);
      }
    }
  }
  // Query parameters: ?password=…&sslpassword=…
  auto query = out.find('?');
  while (query != std::string::npos) {
    auto name_begin = query + 1;
    auto eq = out.find('=', name_begin);
    auto next = out.find('&', name_begin);
    if (eq == std::string::npos || (next != std::string::npos && eq > next)) {
      query = next;
      continue;
    }
    // libpq percent-decodes the names too: `pass%77ord` is `password`.
    const std::string name =
        lower_ascii(percent_decode(std::string_view(out.data() + name_begin, eq - name_begin)));
    auto value_end = next == std::string::npos ? out.size() : next;
    if (name == "password" || name == "sslpassword") {
      out.replace(eq + 1, value_end - eq - 1, kRedacted);
      next = out.find('&', eq + 1);
    }
    query = next;
  }
  return out;
}

std::string redact_access_key(std::string_view key) {
  if (key.size() <= 8) return std::string(kRedacted);
  return std::string(key.substr(0, 4)) + "…";
}

bool is_secret_property(std::string_view name) {
  for (std::string_view marker : {"password", "secret", "oauthbearer.config", "key"}) {
    if (name.find(marker) != std::string_view::npos) {
      // `ssl.key.location`, `ssl.keystore.location` and `sasl.kerberos.keytab` only name a
      // file.
      if (marker == "key" && (name.ends_with(".location") || name.ends_with(".keytab"))) continue;
      return true;
    }
  }
  return false;
}

}  // namespace user_export
