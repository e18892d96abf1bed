#include "config/validate.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>

#include "common/error.hpp"
#include "config/names.hpp"
#include "config/redact.hpp"
#include "config/s3_prefix.hpp"
#include "config/toml_string.hpp"
#include "domain/ids.hpp"
#include "schedule/cron/cron_schedule.hpp"

namespace user_export::config_detail {
namespace {

bool one_of(std::string_view value, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), value) != options.end();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// "set <name> in [<table>] or <VARIABLE>" for a missing value with the key `key`.
std::string how_to_set(std::string_view key) {
  auto dot = key.rfind('.');
  std::string text =
      "set " + std::string(key.substr(dot + 1)) + " in [" + std::string(key.substr(0, dot)) + "]";
  if (const EnvBinding* binding = env_binding_for(key)) {
    text += " or the environment variable " + std::string(binding->variable);
  }
  return text;
}

/// The pool_size a PostgreSQL URL's query sets, or nullopt.
std::optional<long> url_pool_size(std::string_view url) {
  const std::size_t query = url.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(query + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (pair.starts_with("pool_size=")) {
      const std::string value(pair.substr(10));
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() && *end == '\0') return n;
      return std::nullopt;  // the URL parser names a malformed value
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Each exporting group streams on one connection while it stores id-list parts and renews
// its lease on another, and the pool never opens more than pool_size (docs/POSTGRES.md).
void check_pool_size(const Config& c, Problems& p) {
  const std::optional<long> in_url = url_pool_size(c.database.url);
  const long size = in_url.value_or(c.database.pool_size);
  if (size > c.export_.max_parallel_groups) return;
  p.add(in_url ? "database.url" : "database.pool_size",
        std::string(in_url ? "its " : "") + "pool_size = " + std::to_string(size) +
            " must be larger than export.max_parallel_groups = " +
            std::to_string(c.export_.max_parallel_groups) +
            ": each group being exported holds one connection while it needs another; "
            "set pool_size to at least " +
            std::to_string(c.export_.max_parallel_groups + 1) + " or lower max_parallel_groups");
}

void check_database(const Config& c, Problems& p) {
  const std::string& url = c.database.url;
  const std::string key = "database.url";
  if (url.empty()) {
    p.add(key, "missing; " + how_to_set(key) +
                   ", e.g. sqlite:///var/lib/user-export/user-export.db or "
                   "postgresql://user@host:5432/db");
    return;
  }
  if (url.starts_with("sqlite:")) {
    std::string_view path = std::string_view(url).substr(7);
    if (!path.starts_with("///") || path.size() < 4 || path.ends_with("/")) {
      p.add(key, toml_quote(url) +
                     " does not name an absolute SQLite file; write sqlite:// followed by an "
                     "absolute path (three slashes in all), e.g. "
                     "sqlite:///var/lib/user-export/user-export.db");
    }
    return;
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    check_pool_size(c, p);
    return;
  }
  p.add(key, toml_quote(redact_url_password(url)) +
                 " has an unsupported scheme; use sqlite:///absolute/path.db or "
                 "postgresql://user@host:5432/db");
}

bool valid_bucket_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  bool all_digits_and_dots = true;
  for (char ch : name) {
    if (!alnum(ch) && ch != '.' && ch != '-') return false;
    if (ch != '.' && !(ch >= '0' && ch <= '9')) all_digits_and_dots = false;
  }
  if (all_digits_and_dots) return false;  // looks like an IP address
  if (name.find("..") != std::string_view::npos || name.find(".-") != std::string_view::npos ||
      name.find("-.") != std::string_view::npos) {
    return false;
  }
  return !name.starts_with("xn--") && !name.ends_with("-s3alias");
}

void check_store(const Config& c, Problems& p) {
  const StoreConfig& s = c.store;
  const std::string key = "store.url";
  if (s.url.empty()) {
    p.add(key, "missing; " + how_to_set(key) +
                   ", e.g. file:///var/lib/user-export/objects or s3://bucket/prefix");
  } else if (s.url.starts_with("file:")) {
    std::string_view path = std::string_view(s.url).substr(5);
    if (!path.starts_with("///") || path.size() < 4) {
      p.add(key,
            toml_quote(s.url) +
                " does not name an absolute directory; write file:// followed by an "
                "absolute path (three slashes in all), e.g. file:///var/lib/user-export/objects");
    }
  } else if (s.url.starts_with("s3://")) {
    std::string_view rest = std::string_view(s.url).substr(5);
    auto slash = rest.find('/');
    std::string_view bucket = rest.substr(0, slash);
    std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (!valid_bucket_name(bucket)) {
      p.add(key, "invalid bucket name " + toml_quote(bucket) +
                     "; bucket names are 3 to 63 lower-case letters, digits, dots and hyphens, "
                     "start and end with a letter or digit, and are not IP addresses");
    }
    if (auto problem = s3_prefix_problem(prefix)) {
      p.add(key, "prefix " + toml_quote(prefix) + " " + *problem);
    }
    if (s.s3_region.empty()) {
      p.add("store.s3.region", "missing; " + how_to_set("store.s3.region") + ", e.g. us-east-1");
    }
  } else {
    p.add(key, toml_quote(s.url) +
                   " has an unsupported scheme; use file:///absolute/dir or s3://bucket/prefix");
  }
  if (!s.s3_endpoint.empty() && !s.s3_endpoint.starts_with("http://") &&
      !s.s3_endpoint.starts_with("https://")) {
    p.add("store.s3.endpoint", toml_quote(s.s3_endpoint) +
                                   " is not an http:// or https:// URL; write e.g. "
                                   "http://127.0.0.1:9000");
  }
  if (s.access_key.empty() != s.secret_key.empty()) {
    bool has_access = !s.access_key.empty();
    p.add(has_access ? "store.s3.secret_key" : "store.s3.access_key",
          std::string(has_access ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                 : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
              "; set both or neither");
  }
}

void check_export(const Config& c, Problems& p) {
  const std::string key = "export.domain_id";
  if (c.export_.domain_id.empty()) {
    p.add(key, "missing; " + how_to_set(key) + " to the UUID of the domain to export");
  } else {
    try {
      DomainId::parse(c.export_.domain_id);
    } catch (const Error& e) {
      p.add(key, std::string(e.what()) + "; set the id of the domain to export");
    }
  }
  if (!c.export_.staging_dir.starts_with("/")) {
    p.add("export.staging_dir", toml_quote(c.export_.staging_dir) +
                                    " is not an absolute path; use e.g. "
                                    "/var/lib/user-export/staging, or remove it for the default");
  }
  if (c.export_.instance_id.empty()) {
    p.add("export.instance_id",
          "empty; remove it for the default (host, pid, start time, boot and PID namespace) or "
          "name this instance");
  }
}

void check_topic(const std::string& key, const std::string& topic, Problems& p) {
  bool ok = !topic.empty() && topic.size() <= 249 && topic != "." && topic != "..";
  for (char ch : topic) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
      ok = false;
  }
  if (!ok) {
    p.add(key, "invalid topic name " + toml_quote(topic) +
                   "; Kafka topics are 1 to 249 letters, digits, '.', '_' and '-'");
  }
}

void check_messages(const Config& c, Problems& p) {
  const std::string key = "messages.file";
  if (c.messages.file.empty()) {
    if (c.kafka.bootstrap.empty()) {
      p.add(key, "missing, and kafka.bootstrap is empty, so messages have nowhere to go; " +
                     how_to_set(key) + ", or set kafka.bootstrap to publish to Kafka");
    }
  } else if (!c.messages.file.starts_with("/")) {
    p.add(key, toml_quote(c.messages.file) +
                   " is not an absolute path; use e.g. /var/lib/user-export/messages.jsonl");
  }
  check_topic("messages.topic", c.messages.topic, p);
  check_topic("messages.dlq_topic", c.messages.dlq_topic, p);
  if (c.messages.topic == c.messages.dlq_topic) {
    p.add("messages.dlq_topic",
          "is the same topic as messages.topic; give dead letters a topic of their own");
  }
}

void check_kafka(const Config& c, Problems& p) {
  const KafkaConfig& k = c.kafka;
  if (!one_of(k.compression, {"none", "gzip", "snappy", "lz4", "zstd"})) {
    p.add("kafka.compression",
          "unknown codec " + toml_quote(k.compression) + "; use none, gzip, snappy, lz4 or zstd");
  }
  std::string protocol = lower(k.security_protocol);
  if (!one_of(protocol, {"", "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"})) {
    p.add("kafka.security_protocol", "unknown protocol " + toml_quote(k.security_protocol) +
                                         "; use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
  }
  bool sasl = protocol.starts_with("sasl_");
  if (!one_of(k.sasl_mechanism,
              {"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"})) {
    p.add("kafka.sasl_mechanism",
          "unknown mechanism " + toml_quote(k.sasl_mechanism) +
              "; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI or OAUTHBEARER");
  } else if (sasl && k.sasl_mechanism.empty()) {
    p.add("kafka.sasl_mechanism", "missing while security_protocol is " + k.security_protocol +
                                      "; set it, e.g. SCRAM-SHA-512");
  } else if (!sasl && !k.sasl_mechanism.empty()) {
    p.add("kafka.sasl_mechanism",
          "is set but security_protocol is not SASL_PLAINTEXT or SASL_SSL; set "
          "security_protocol or remove sasl_mechanism");
  } else if (sasl && one_of(k.sasl_mechanism, {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})) {
    if (k.sasl_username.empty()) {
      p.add("kafka.sasl_username", "missing for " + k.sasl_mechanism + "; set it in [kafka]");
    }
    if (k.sasl_password.empty()) {
      p.add("kafka.sasl_password", "missing for " + k.sasl_mechanism +
                                       "; set USER_EXPORT_KAFKA_SASL_PASSWORD in the environment");
    }
  }
}

void check_csv(const Config& c, Problems& p) {
  std::map<std::string, std::size_t> headers;
  auto fields = csv_source_fields();
  for (std::size_t i = 0; i < c.csv.columns.size(); ++i) {
    const CsvColumn& column = c.csv.columns[i];
    std::string path = "csv.columns[" + std::to_string(i) + "]";
    if (column.source.empty()) {
      p.add(path + ".source", "missing; name the field to export, e.g. source = \"email\"");
    } else if (std::find(fields.begin(), fields.end(), column.source) == fields.end()) {
      std::string known;
      for (auto field : fields) known += (known.empty() ? "" : ", ") + std::string(field);
      p.add(path + ".source",
            "unknown source field " + toml_quote(column.source) + "; use one of " + known);
    }
    if (column.header.empty()) {
      p.add(path + ".header", "empty; give the column a header or remove the key");
    } else if (auto [it, inserted] = headers.emplace(column.header, i); !inserted) {
      p.add(path + ".header", "header " + toml_quote(column.header) +
                                  " is already used by csv.columns[" + std::to_string(it->second) +
                                  "]; give each column its own header");
    }
    if (column.mask == MaskMode::kHash && c.hash_key.empty()) {
      p.add(path + ".mask",
            "mask \"hash\" needs a key; set USER_EXPORT_HASH_KEY in the environment or choose "
            "another mask");
    }
  }
  if (c.csv.schema_version_column && headers.count("schema_version") > 0) {
    p.add("csv.schema_version_column",
          "a column already has the header \"schema_version\"; rename that column or turn "
          "schema_version_column off");
  }
  if (c.csv.line_ending != "\n" && c.csv.line_ending != "\r\n") {
    p.add("csv.line_ending", "unknown line ending " + toml_quote(c.csv.line_ending) +
                                 "; use \"lf\" (or \"\\n\") or \"crlf\" (or \"\\r\\n\")");
  }
}

void check_schedule_and_service(const Config& c, Problems& p) {
  // The schedule is validated by the parser that will run it: every field, macros and the
  // zone (against the system time-zone database).
  try {
    (void)CronSchedule::parse(c.schedule.cron, c.schedule.time_zone);
  } catch (const Error& e) {
    const std::string what = e.what();
    const bool zone =
        what.find("zone") != std::string::npos && what.find("field") == std::string::npos;
    p.add(zone ? "schedule.time_zone" : "schedule.cron", what);
  }
  if (!one_of(c.log.level, {"trace", "debug", "info", "warn", "error", "critical", "off"})) {
    p.add("log.level", "unknown level " + toml_quote(c.log.level) +
                           "; use trace, debug, info, warn, error, critical or off");
  }
  const std::string& addr = c.admin.addr;
  auto colon = addr.rfind(':');
  bool addr_ok = colon != std::string::npos && colon > 0 && colon + 1 < addr.size() &&
                 colon + 6 >= addr.size();
  if (addr_ok) {
    std::string_view port = std::string_view(addr).substr(colon + 1);
    addr_ok =
        std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
        std::stoi(std::string(port)) <= 65535;
  }
  if (!addr_ok) {
    p.add("admin.addr", toml_quote(addr) + " is not host:port; use e.g. 127.0.0.1:8080");
  }
  if (c.retry.max_backoff < c.retry.initial_backoff) {
    p.add("retry.max_backoff_ms", "is below initial_backoff_ms (" +
                                      std::to_string(c.retry.initial_backoff.count()) +
                                      "); raise it or lower initial_backoff_ms");
  }
}

}  // namespace

void validate(const Config& config, Problems& problems) {
  check_database(config, problems);
  check_store(config, problems);
  check_export(config, problems);
  check_messages(config, problems);
  check_kafka(config, problems);
  check_csv(config, problems);
  check_schedule_and_service(config, problems);
}

}  // namespace user_export::config_detail
