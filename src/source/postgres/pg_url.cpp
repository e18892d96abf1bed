#include "source/postgres/pg_url.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <string_view>

#include "common/error.hpp"

namespace user_export::pg {
namespace {

// Position just after `scheme://`, or npos when the scheme is not PostgreSQL's.
std::size_t authority_start(const std::string& url) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.starts_with(scheme)) return scheme.size();
  }
  return std::string::npos;
}

}  // namespace

UrlSettings parse_url(const std::string& url) {
  if (authority_start(url) == std::string::npos) {
    throw Error(ErrorCode::kConfig, "database URL '" + redact_url(url) +
                                        "' is not a PostgreSQL URL; expected "
                                        "postgresql://user@host:port/dbname");
  }
  UrlSettings settings;
  std::size_t query = url.find('?');
  settings.uri = url.substr(0, query);
  if (query != std::string::npos) {
    std::string kept;
    std::string_view rest(url);
    rest.remove_prefix(query + 1);
    while (!rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (param.starts_with("pool_size=")) {
        std::string_view value = param.substr(10);
        std::size_t size = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
        if (ec != std::errc{} || end != value.data() + value.size() || size < 1 || size > 1000) {
          throw Error(ErrorCode::kConfig, "database URL has pool_size='" + std::string(value) +
                                              "'; expected a whole number from 1 to 1000");
        }
        settings.pool_size = size;
        continue;
      }
      if (param.empty()) continue;
      kept += kept.empty() ? "?" : "&";
      kept += param;
    }
    settings.uri += kept;
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(settings.uri.c_str(), &error);
  std::unique_ptr<char, decltype(&PQfreemem)> error_owner(error, &PQfreemem);
  if (options == nullptr) {
    std::string reason = error ? error : "out of memory";
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    throw Error(ErrorCode::kConfig, "database URL '" + redact_url(url) + "' is invalid: " + reason +
                                        "; see the libpq connection URI format");
  }
  PQconninfoFree(options);
  return settings;
}

std::string with_database(const std::string& url, const std::string& database) {
  std::size_t start = authority_start(url);
  if (start == std::string::npos) start = 0;
  std::size_t query = url.find('?', start);
  std::size_t end = query == std::string::npos ? url.size() : query;
  std::size_t slash = url.find('/', start);
  std::size_t path = slash == std::string::npos || slash > end ? end : slash;
  return url.substr(0, path) + "/" + database + url.substr(end);
}

std::string redact_url(const std::string& url) {
  std::string out = url;
  std::size_t start = authority_start(out);
  if (start == std::string::npos) return out;
  std::size_t end = out.find_first_of("/?", start);
  if (end == std::string::npos) end = out.size();
  std::size_t at = out.rfind('@', end);
  if (at != std::string::npos && at >= start) {
    std::size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // A password may also be given as a query parameter.
  for (std::size_t pos = out.find("password=", start); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    if (pos == 0 || (out[pos - 1] != '?' && out[pos - 1] != '&')) continue;
    std::size_t value = pos + 9;
    std::size_t stop = out.find('&', value);
    if (stop == std::string::npos) stop = out.size();
    out.replace(value, stop - value, "***");
  }
  return out;
}

}  // namespace user_export::pg
