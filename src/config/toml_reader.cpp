#include "config/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "config/names.hpp"
#include "config/redact.hpp"
#include "config/toml_string.hpp"

namespace user_export::config_detail {
namespace {

using ReadFn = std::function<void(const toml::node& node, const std::string& key)>;

/// One key a table accepts and how its value is read.
struct KeySpec {
  std::string_view name;
  ReadFn read;
};

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kOneYearSeconds = 365LL * 24 * 3600;
constexpr std::int64_t kSevenDaysSeconds = 7LL * 24 * 3600;

int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The candidate closest to `name` when it is close enough to be a typo, else "".
std::string_view closest(std::string_view name, const std::vector<KeySpec>& keys) {
  std::string_view best;
  std::size_t best_distance = std::min<std::size_t>(3, name.size() / 2 + 1);
  for (const auto& key : keys) {
    std::size_t distance = edit_distance(name, key.name);
    if (distance < best_distance) {
      best = key.name;
      best_distance = distance;
    }
  }
  return best;
}

std::string join_names(const std::vector<KeySpec>& keys) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += ", ";
    out += key.name;
  }
  return out;
}

/// Librdkafka properties that have a key of their own, or that would break the delivery
/// guarantee, with what to do instead.
std::string_view reserved_property_advice(std::string_view name) {
  if (name == "bootstrap.servers" || name == "metadata.broker.list")
    return "set kafka.bootstrap (or USER_EXPORT_KAFKA_BOOTSTRAP) instead";
  if (name == "client.id") return "set kafka.client_id instead";
  if (name == "compression.type" || name == "compression.codec")
    return "set kafka.compression instead";
  if (name == "security.protocol") return "set kafka.security_protocol instead";
  if (name == "sasl.mechanism" || name == "sasl.mechanisms")
    return "set kafka.sasl_mechanism instead";
  if (name == "sasl.username") return "set kafka.sasl_username instead";
  if (name == "sasl.password")
    return "secrets are not read from the file; remove it and set "
           "USER_EXPORT_KAFKA_SASL_PASSWORD in the environment";
  if (name == "ssl.ca.location") return "set kafka.ssl_ca_location instead";
  if (name == "message.max.bytes") return "set messages.max_message_bytes instead";
  if (name == "delivery.timeout.ms" || name == "message.timeout.ms")
    return "set messages.delivery_timeout_ms instead";
  if (name == "acks" || name == "request.required.acks" || name == "enable.idempotence")
    return "the producer always uses acks=all with idempotence so no delivery is lost; "
           "remove it";
  return {};
}

/// What to do about a secret librdkafka property found in the file.
std::string secret_property_advice(std::string_view property) {
  if (const SecretPropertyBinding* binding = secret_property_binding(property)) {
    return "secrets are not read from the file; remove it and set " +
           std::string(binding->variable) + " in the environment";
  }
  std::string known;
  for (const auto& binding : secret_property_bindings()) {
    known += (known.empty() ? "" : ", ") + std::string(binding.variable);
  }
  return "its name says it holds a secret, and secrets are not read from the file; remove it "
         "(the secret properties set from the environment are " +
         known + ")";
}

/// Reads one document into a Config, reporting problems as it goes.
class DocumentReader {
 public:
  DocumentReader(Config& config, Problems& problems) : c_(config), p_(problems) {}

  void read(const toml::table& document) { read_table(document, "", top_level_keys()); }

 private:
  std::vector<KeySpec> top_level_keys() {
    return {
        {"export", table({{"domain_id", text(c_.export_.domain_id)},
                          {"mark_sent", flag(c_.export_.mark_sent)},
                          {"max_parallel_groups", whole(c_.export_.max_parallel_groups, 1, 1024)},
                          {"queue_capacity", whole(c_.export_.queue_capacity, 1, 1'000'000)},
                          {"staging_dir", text(c_.export_.staging_dir)},
                          {"instance_id", text(c_.export_.instance_id)},
                          {"lease_seconds", seconds(c_.export_.lease, 1, 1)},
                          {"batch_max_groups", whole(c_.export_.batch_max_groups, 1, 100'000)},
                          {"batch_max_group_users",
                           whole(c_.export_.batch_max_group_users, 1, 100'000'000)}})},
        {"database", table({{"url", text(c_.database.url)},
                            {"pool_size", whole(c_.database.pool_size, 1, 1000)},
                            {"connect_timeout_ms", millis(c_.database.connect_timeout, 1)}})},
        {"store", table({{"url", text(c_.store.url)}, {"s3", table(s3_keys())}})},
        {"messages",
         table({{"file", text(c_.messages.file)},
                {"topic", text(c_.messages.topic)},
                {"dlq_topic", text(c_.messages.dlq_topic)},
                {"max_message_bytes",
                 whole(c_.messages.max_message_bytes, 1024, 1'000'000'000,
                       "id lists are split to stay below it, so it must hold at least one id")},
                {"delivery_timeout_ms", millis(c_.messages.delivery_timeout, 1)}})},
        {"kafka", table(kafka_keys())},
        {"csv", table(csv_keys())},
        {"retry", table({{"max_attempts", whole(c_.retry.max_attempts, 1, 100)},
                         {"initial_backoff_ms", millis(c_.retry.initial_backoff, 0)},
                         {"multiplier", real(c_.retry.multiplier, 1.0, 1000.0, false)},
                         {"max_backoff_ms", millis(c_.retry.max_backoff, 0)},
                         {"jitter", real(c_.retry.jitter, 0.0, 1.0, true)}})},
        {"schedule",
         table({{"cron", text(c_.schedule.cron)},
                {"time_zone", text(c_.schedule.time_zone)},
                {"missed_slot_grace_seconds", seconds(c_.schedule.missed_slot_grace, 0, 1)},
                {"sweep_interval_seconds", seconds(c_.schedule.sweep_interval, 0, 1)},
                {"max_consumer_lag", whole(c_.schedule.max_consumer_lag, 0, INT64_MAX)},
                {"consumer_group", text(c_.schedule.consumer_group)}})},
        {"admin", table({{"addr", text(c_.admin.addr)}})},
        {"service", table({{"shutdown_timeout_seconds", seconds(c_.service.shutdown_timeout, 0, 1)},
                           {"verify_after_slot", flag(c_.service.verify_after_slot)}})},
        {"retention",
         table({{"days", whole(c_.retention.days, 1, 36'500,
                               "finished history older than this many days is deleted")}})},
        {"log", table({{"level", text(c_.log.level)}, {"json", flag(c_.log.json)}})},
    };
  }

  std::vector<KeySpec> s3_keys() {
    auto& s = c_.store;
    return {{"endpoint", text(s.s3_endpoint)},
            {"region", text(s.s3_region)},
            {"path_style", flag(s.s3_path_style)},
            {"verify_tls", flag(s.verify_tls)},
            {"ca_bundle", text(s.ca_bundle)},
            {"connect_timeout_ms", millis(s.connect_timeout, 1)},
            {"request_timeout_ms", millis(s.request_timeout, 1)},
            {"part_size_mib",
             mebibytes(s.part_size, 5, 5 * 1024, "S3 parts are at least 5 MiB and at most 5 GiB")},
            {"multipart_threshold_mib",
             mebibytes(s.multipart_threshold, 0, 5 * 1024 * 1024, "S3 objects are at most 5 TiB")},
            {"parallel_parts", whole(s.parallel_parts, 1, 64)},
            {"abort_incomplete_after_hours",
             seconds(s.abort_incomplete_after, 0, 3600, "0 turns the clean-up off")},
            {"presign_seconds",
             seconds_up_to(s.presign, 0, kSevenDaysSeconds,
                           "SigV4 signs a URL for at most 7 days; 0 turns presigned URLs off")}};
  }

  std::vector<KeySpec> kafka_keys() {
    auto& k = c_.kafka;
    return {
        {"bootstrap", text(k.bootstrap)},
        {"client_id", text(k.client_id)},
        {"compression", text(k.compression)},
        {"security_protocol", text(k.security_protocol)},
        {"sasl_mechanism", text(k.sasl_mechanism)},
        {"sasl_username", text(k.sasl_username)},
        {"ssl_ca_location", text(k.ssl_ca_location)},
        {"rate_limit_messages_per_second",
         real(k.rate_limit_messages_per_second, 0.0, kInfinity, false)},
        {"rate_limit_bytes_per_second", real(k.rate_limit_bytes_per_second, 0.0, kInfinity, false)},
        {"circuit_failure_threshold", whole(k.circuit_failure_threshold, 1, 1'000'000)},
        {"circuit_cool_down_ms", millis(k.circuit_cool_down, 0)},
        {"properties",
         [this](const toml::node& node, const std::string& key) { read_properties(node, key); }}};
  }

  std::vector<KeySpec> csv_keys() {
    auto& csv = c_.csv;
    return {{"header", flag(csv.header)},
            {"line_ending", [this](const toml::node& node,
                                   const std::string& key) { read_line_ending(node, key); }},
            {"formula_guard", flag(csv.formula_guard)},
            {"schema_version_column", flag(csv.schema_version_column)},
            {"gzip_level", whole(csv.gzip_level, 0, 3, "ISA-L has levels 0 to 3")},
            {"columns",
             [this](const toml::node& node, const std::string& key) { read_columns(node, key); }}};
  }

  static constexpr double kInfinity = std::numeric_limits<double>::infinity();

  /// Reads the keys of `table` (whose dotted path is `path`, "" for the document).
  void read_table(const toml::table& table, const std::string& path,
                  const std::vector<KeySpec>& keys) {
    for (const auto& [name, node] : table) {
      std::string key = path.empty() ? toml_key(name.str()) : path + "." + toml_key(name.str());
      int line = static_cast<int>(name.source().begin.line);
      if (line == 0) line = line_of(node);
      auto spec = std::find_if(keys.begin(), keys.end(),
                               [&](const KeySpec& k) { return k.name == name.str(); });
      if (spec == keys.end()) {
        unknown_key(line, key, name.str(), node.is_table(), path, keys);
        continue;
      }
      p_.locate(key, line_of(node) > 0 ? line_of(node) : line);
      spec->read(node, key);
    }
  }

  void unknown_key(int line, const std::string& key, std::string_view name, bool is_table,
                   const std::string& path, const std::vector<KeySpec>& keys) {
    if (const EnvBinding* binding = env_binding_for(key); binding != nullptr && binding->secret) {
      p_.add_at(line, key,
                "secrets are not read from the file; remove it and set " +
                    std::string(binding->variable) + " in the environment");
      return;
    }
    bool top_level_value = path.empty() && !is_table;
    std::string text = path.empty() ? (top_level_value ? "unknown top-level key; every setting "
                                                         "belongs in a table"
                                                       : "unknown table")
                                    : "unknown key";
    if (auto guess = closest(name, keys); !guess.empty()) {
      text += "; did you mean " +
              (path.empty() ? "[" + std::string(guess) + "]" : "'" + std::string(guess) + "'") +
              "?";
    } else {
      text += ";";
    }
    text += path.empty() ? " valid tables: " : " valid keys in [" + path + "]: ";
    text += join_names(keys);
    p_.add_at(line, key, text);
  }

  /// Adds "expected X, found Y; how" when `node` is not of `type`; returns whether it is.
  bool expect(const toml::node& node, const std::string& key, toml::node_type type) {
    if (node.type() == type) return true;
    std::string expected;
    switch (type) {
      case toml::node_type::string:
        expected = "a string; put the value in double quotes";
        break;
      case toml::node_type::integer:
        expected = "an integer; write a whole number without quotes, e.g. 4";
        break;
      case toml::node_type::boolean:
        expected = "a boolean; write true or false, no quotes";
        break;
      case toml::node_type::table:
        expected = "a table; write it as a section [" + key + "] followed by its keys";
        break;
      default:
        expected = "another type; change the value";
        break;
    }
    auto semicolon = expected.find(';');
    p_.add_at(line_of(node), key,
              "expected " + expected.substr(0, semicolon) + ", found " +
                  std::string(type_name(node)) + expected.substr(semicolon));
    return false;
  }

  ReadFn table(std::vector<KeySpec> keys) {
    return [this, keys = std::move(keys)](const toml::node& node, const std::string& key) {
      if (expect(node, key, toml::node_type::table)) read_table(*node.as_table(), key, keys);
    };
  }

  ReadFn text(std::string& out) {
    return [this, &out](const toml::node& node, const std::string& key) {
      if (expect(node, key, toml::node_type::string)) out = node.as_string()->get();
    };
  }

  ReadFn flag(bool& out) {
    return [this, &out](const toml::node& node, const std::string& key) {
      if (expect(node, key, toml::node_type::boolean)) out = node.as_boolean()->get();
    };
  }

  /// The integer at `node` when it is one and lies in [min, max], else nullopt (and a problem).
  std::optional<std::int64_t> integer(const toml::node& node, const std::string& key,
                                      std::int64_t min, std::int64_t max, std::string_view why) {
    if (!expect(node, key, toml::node_type::integer)) return std::nullopt;
    std::int64_t value = node.as_integer()->get();
    if (value >= min && value <= max) return value;
    std::string text =
        max == kNoMax ? "must be at least " + std::to_string(min)
                      : "must be between " + std::to_string(min) + " and " + std::to_string(max);
    text += ", found " + std::to_string(value) + "; ";
    text += why.empty() ? std::string("change it to a value in that range") : std::string(why);
    p_.add_at(line_of(node), key, text);
    return std::nullopt;
  }

  template <typename T>
  ReadFn whole(T& out, std::int64_t min, std::int64_t max, std::string_view why = {}) {
    return [this, &out, min, max, why](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, min, max, why)) out = static_cast<T>(*value);
    };
  }

  ReadFn millis(std::chrono::milliseconds& out, std::int64_t min) {
    return [this, &out, min](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, min, kOneYearSeconds * 1000, "at most one year"))
        out = std::chrono::milliseconds(*value);
    };
  }

  /// A duration written in units of `unit` seconds (1 = seconds, 3600 = hours).
  ReadFn seconds(std::chrono::seconds& out, std::int64_t min, std::int64_t unit,
                 std::string_view why = "at most one year") {
    return [this, &out, min, unit, why](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, min, kOneYearSeconds / unit, why))
        out = std::chrono::seconds(*value * unit);
    };
  }

  /// A duration in whole seconds in [min, max].
  ReadFn seconds_up_to(std::chrono::seconds& out, std::int64_t min, std::int64_t max,
                       std::string_view why) {
    return [this, &out, min, max, why](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, min, max, why)) out = std::chrono::seconds(*value);
    };
  }

  ReadFn mebibytes(std::uint64_t& out, std::int64_t min, std::int64_t max, std::string_view why) {
    return [this, &out, min, max, why](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, min, max, why))
        out = static_cast<std::uint64_t>(*value) << 20;
    };
  }

  /// A number (integer or float) in [min, max], or [min, max) when `max_open`.
  ReadFn real(double& out, double min, double max, bool max_open) {
    return [this, &out, min, max, max_open](const toml::node& node, const std::string& key) {
      double value = 0;
      if (node.is_integer()) {
        value = static_cast<double>(node.as_integer()->get());
      } else if (node.is_floating_point()) {
        value = node.as_floating_point()->get();
      } else {
        p_.add_at(line_of(node), key,
                  "expected a number, found " + std::string(type_name(node)) +
                      "; write a number without quotes, e.g. 0.5");
        return;
      }
      bool ok = std::isfinite(value) && value >= min && (max_open ? value < max : value <= max);
      if (ok) {
        out = value;
        return;
      }
      std::string range = max == kInfinity ? "at least " + toml_float(min)
                          : max_open
                              ? "at least " + toml_float(min) + " and below " + toml_float(max)
                              : "between " + toml_float(min) + " and " + toml_float(max);
      p_.add_at(line_of(node), key,
                "must be " + range + ", found " + toml_float(value) +
                    "; change it to a value in that range");
    };
  }

  void read_line_ending(const toml::node& node, const std::string& key) {
    if (!expect(node, key, toml::node_type::string)) return;
    std::string value = node.as_string()->get();
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (value == "\n" || lower == "lf") {
      c_.csv.line_ending = "\n";
    } else if (value == "\r\n" || lower == "crlf") {
      c_.csv.line_ending = "\r\n";
    } else {
      p_.add_at(line_of(node), key,
                "unknown line ending " + toml_quote(value) +
                    "; use \"lf\" (or \"\\n\") or \"crlf\" (or \"\\r\\n\")");
    }
  }

  void read_columns(const toml::node& node, const std::string& key) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      p_.add_at(line_of(node), key,
                "expected an array of tables, found " + std::string(type_name(node)) +
                    "; write each column as a [[csv.columns]] section");
      return;
    }
    if (array->empty()) {
      p_.add_at(line_of(node), key,
                "no columns; add [[csv.columns]] sections or remove it to get the default columns");
      return;
    }
    std::vector<CsvColumn> columns;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      std::string path = key + "[" + std::to_string(i) + "]";
      p_.locate(path, line_of(element));
      if (!element.is_table()) {
        p_.add_at(line_of(element), path,
                  "expected a table, found " + std::string(type_name(element)) +
                      "; write each column as a [[csv.columns]] section");
        continue;
      }
      CsvColumn column;
      bool has_header = false;
      std::vector<KeySpec> keys = {{"source", text(column.source)},
                                   {"header",
                                    [&](const toml::node& value, const std::string& k) {
                                      if (expect(value, k, toml::node_type::string)) {
                                        column.header = value.as_string()->get();
                                        has_header = true;
                                      }
                                    }},
                                   {"mask", [&](const toml::node& value, const std::string& k) {
                                      if (!expect(value, k, toml::node_type::string)) return;
                                      std::string name = value.as_string()->get();
                                      if (auto mode = parse_mask_mode(name)) {
                                        column.mask = *mode;
                                      } else {
                                        p_.add_at(line_of(value), k,
                                                  "unknown mask mode " + toml_quote(name) +
                                                      "; use none, redact, partial or hash");
                                      }
                                    }}};
      read_table(*element.as_table(), path, keys);
      if (!has_header) column.header = column.source;
      columns.push_back(std::move(column));
    }
    c_.csv.columns = std::move(columns);
  }

  void read_properties(const toml::node& node, const std::string& key) {
    if (expect(node, key, toml::node_type::table)) {
      read_property_table(*node.as_table(), "", key);
    }
  }

  /// Flattens `[kafka.properties]`, so both `"linger.ms" = 5` and the dotted `linger.ms = 5`
  /// (which TOML reads as nested tables) give the property `linger.ms`.
  void read_property_table(const toml::table& table, const std::string& prefix,
                           const std::string& base) {
    for (const auto& [name, node] : table) {
      std::string property =
          prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
      std::string key = base + "." + toml_key(property);
      if (node.is_table()) {
        read_property_table(*node.as_table(), property, base);
        continue;
      }
      p_.locate(key, line_of(node));
      if (auto advice = reserved_property_advice(property); !advice.empty()) {
        p_.add_at(line_of(node), key, std::string(advice));
        continue;
      }
      if (is_secret_property(property)) {
        p_.add_at(line_of(node), key, secret_property_advice(property));
        continue;
      }
      if (node.is_string()) {
        c_.kafka.extra[property] = node.as_string()->get();
      } else if (node.is_integer()) {
        c_.kafka.extra[property] = std::to_string(node.as_integer()->get());
      } else if (node.is_boolean()) {
        c_.kafka.extra[property] = node.as_boolean()->get() ? "true" : "false";
      } else if (node.is_floating_point()) {
        c_.kafka.extra[property] = toml_float(node.as_floating_point()->get());
      } else {
        p_.add_at(line_of(node), key,
                  "expected a string, number or boolean, found " + std::string(type_name(node)) +
                      "; librdkafka properties are single values");
      }
    }
  }

  Config& c_;
  Problems& p_;
};

}  // namespace

void read_document(const toml::table& document, Config& config, Problems& problems) {
  DocumentReader(config, problems).read(document);
}

}  // namespace user_export::config_detail
