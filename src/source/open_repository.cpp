#include <algorithm>

#include "common/error.hpp"
#include "config/config.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/repository.hpp"
#include "source/sqlite/sqlite_repository.hpp"

namespace user_export {

std::unique_ptr<Repository> open_repository(const std::string& url, Clock& clock,
                                            RepositoryAccess access) {
  const auto starts_with = [&](std::string_view prefix) { return url.rfind(prefix, 0) == 0; };
  if (starts_with("sqlite:")) {
    SqliteOptions options;
    options.read_only = access == RepositoryAccess::kReadOnly;
    return std::make_unique<SqliteRepository>(SqliteRepository::path_from_url(url), clock, options);
  }
  if (starts_with("postgresql://") || starts_with("postgres://")) {
    return make_postgres_repository(url, clock);
  }
  // Only the scheme is quoted: the rest of a URL may carry a password.
  const auto colon = url.find(':');
  const std::string problem =
      colon == std::string::npos ? "the database URL has no scheme"
                                 : "unsupported database URL scheme '" + url.substr(0, colon) + "'";
  throw Error(ErrorCode::kConfig,
              problem +
                  "; use sqlite:///absolute/path.db or postgresql://user@host:5432/dbname "
                  "(USER_EXPORT_DATABASE_URL or [database] url)");
}

std::string effective_database_url(const DatabaseConfig& config) {
  std::string url = config.url;
  if (url.rfind("postgres", 0) != 0) return url;
  // [database] pool_size and connect_timeout_ms apply unless the URL sets them itself.
  auto add = [&](const std::string& key, const std::string& value) {
    if (url.find(key + "=") != std::string::npos) return;
    url += (url.find('?') == std::string::npos ? '?' : '&');
    url += key + "=" + value;
  };
  add("pool_size", std::to_string(config.pool_size));
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(config.connect_timeout);
  add("connect_timeout", std::to_string(std::max<std::int64_t>(1, secs.count())));
  return url;
}

std::unique_ptr<Repository> open_repository(const DatabaseConfig& config, Clock& clock,
                                            RepositoryAccess access) {
  return open_repository(effective_database_url(config), clock, access);
}

}  // namespace user_export
