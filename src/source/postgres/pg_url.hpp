#pragma once

#include <cstddef>
#include <string>

namespace user_export::pg {

/// A `postgresql://` URL split into what libpq reads and what the exporter reads itself.
struct UrlSettings {
  std::string uri;            ///< the URL without the exporter's own query parameters
  std::size_t pool_size = 0;  ///< `pool_size=N` from the query; 0 when absent
};

/// Parses `postgresql://[user[:password]@]host[:port][/dbname][?param=value&…]` (also
/// `postgres://`). The exporter's parameter `pool_size` is removed; every other parameter
/// (sslmode, connect_timeout, application_name, …) is left for libpq, which also reads
/// PGPASSWORD, PGSSLMODE and ~/.pgpass. Throws Error(kConfig) for another scheme, a bad
/// pool_size or a URL libpq rejects.
UrlSettings parse_url(const std::string& url);

/// `url` with its database name (the path) replaced by `database`; the query is kept.
std::string with_database(const std::string& url, const std::string& database);

/// `url` with any password replaced by `***`, fit for logs and error messages.
std::string redact_url(const std::string& url);

}  // namespace user_export::pg
