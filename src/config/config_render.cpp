#include "config/config_render.hpp"

#include <cstdint>

#include "config/names.hpp"
#include "config/redact.hpp"
#include "config/toml_string.hpp"

namespace user_export {
namespace {

using config_detail::toml_float;
using config_detail::toml_key;
using config_detail::toml_quote;

/// Appends TOML lines to a string.
class TomlText {
 public:
  void section(std::string_view header) { out_ += "\n" + std::string(header) + "\n"; }
  void comment(std::string_view text) { out_ += "# " + std::string(text) + "\n"; }
  void put(std::string_view key, std::string_view value) { line(key, toml_quote(value)); }
  void put(std::string_view key, const char* value) { put(key, std::string_view(value)); }
  void put(std::string_view key, bool value) { line(key, value ? "true" : "false"); }
  void put(std::string_view key, std::int64_t value) { line(key, std::to_string(value)); }
  void put(std::string_view key, int value) { put(key, static_cast<std::int64_t>(value)); }
  void put(std::string_view key, double value) { line(key, toml_float(value)); }
  /// Comments a secret that only the environment sets, without its value.
  void secret(std::string_view name, std::string_view variable, std::string_view shown) {
    comment(std::string(name) + ": " +
            (shown.empty() ? "not set; set it with " + std::string(variable)
                           : std::string(shown) + " (from " + std::string(variable) + ")"));
  }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view key, const std::string& value) {
    out_ += toml_key(key) + " = " + value + "\n";
  }
  std::string out_;
};

std::string stars_if_set(const std::string& secret) {
  return secret.empty() ? std::string() : std::string(kRedacted);
}

std::int64_t mib(std::uint64_t bytes) {
  return static_cast<std::int64_t>(bytes >> 20);
}

void render_export_and_database(TomlText& t, const Config& c) {
  t.section("[export]");
  t.put("domain_id", c.export_.domain_id);
  t.put("mark_sent", c.export_.mark_sent);
  t.put("max_parallel_groups", c.export_.max_parallel_groups);
  t.put("queue_capacity", c.export_.queue_capacity);
  t.put("staging_dir", c.export_.staging_dir);
  t.put("instance_id", c.export_.instance_id);
  t.put("lease_seconds", static_cast<std::int64_t>(c.export_.lease.count()));
  t.put("batch_max_groups", c.export_.batch_max_groups);
  t.put("batch_max_group_users", c.export_.batch_max_group_users);

  t.section("[database]");
  t.put("url", redact_url_password(c.database.url));
  t.put("pool_size", c.database.pool_size);
  t.put("connect_timeout_ms", static_cast<std::int64_t>(c.database.connect_timeout.count()));
}

void render_store(TomlText& t, const Config& c) {
  t.section("[store]");
  t.put("url", c.store.url);
  t.section("[store.s3]");
  t.put("endpoint", c.store.s3_endpoint);
  t.put("region", c.store.s3_region);
  t.put("path_style", c.store.s3_path_style);
  t.put("verify_tls", c.store.verify_tls);
  t.put("ca_bundle", c.store.ca_bundle);
  t.put("connect_timeout_ms", static_cast<std::int64_t>(c.store.connect_timeout.count()));
  t.put("request_timeout_ms", static_cast<std::int64_t>(c.store.request_timeout.count()));
  t.put("part_size_mib", mib(c.store.part_size));
  t.put("multipart_threshold_mib", mib(c.store.multipart_threshold));
  t.put("parallel_parts", c.store.parallel_parts);
  t.put("abort_incomplete_after_hours",
        static_cast<std::int64_t>(c.store.abort_incomplete_after.count() / 3600));
  t.put("presign_seconds", static_cast<std::int64_t>(c.store.presign.count()));
  t.secret("access_key", "AWS_ACCESS_KEY_ID",
           c.store.access_key.empty() ? std::string() : redact_access_key(c.store.access_key));
  t.secret("secret_key", "AWS_SECRET_ACCESS_KEY", stars_if_set(c.store.secret_key));
}

void render_messages_and_kafka(TomlText& t, const Config& c) {
  t.section("[messages]");
  t.put("file", c.messages.file);
  t.put("topic", c.messages.topic);
  t.put("dlq_topic", c.messages.dlq_topic);
  t.put("max_message_bytes", static_cast<std::int64_t>(c.messages.max_message_bytes));
  t.put("delivery_timeout_ms", static_cast<std::int64_t>(c.messages.delivery_timeout.count()));

  t.section("[kafka]");
  t.put("bootstrap", c.kafka.bootstrap);
  t.put("client_id", c.kafka.client_id);
  t.put("compression", c.kafka.compression);
  t.put("security_protocol", c.kafka.security_protocol);
  t.put("sasl_mechanism", c.kafka.sasl_mechanism);
  t.put("sasl_username", c.kafka.sasl_username);
  t.put("ssl_ca_location", c.kafka.ssl_ca_location);
  t.put("rate_limit_messages_per_second", c.kafka.rate_limit_messages_per_second);
  t.put("rate_limit_bytes_per_second", c.kafka.rate_limit_bytes_per_second);
  t.put("circuit_failure_threshold", c.kafka.circuit_failure_threshold);
  t.put("circuit_cool_down_ms", static_cast<std::int64_t>(c.kafka.circuit_cool_down.count()));
  t.secret("sasl_password", "USER_EXPORT_KAFKA_SASL_PASSWORD", stars_if_set(c.kafka.sasl_password));
  for (const auto& binding : config_detail::secret_property_bindings()) {
    if (auto it = c.kafka.extra.find(std::string(binding.property)); it != c.kafka.extra.end()) {
      t.secret(binding.property, binding.variable, stars_if_set(it->second));
    }
  }
  t.section("[kafka.properties]");
  for (const auto& [name, value] : c.kafka.extra) {
    if (!is_secret_property(name)) t.put(name, value);
  }
}

void render_csv(TomlText& t, const Config& c) {
  t.section("[csv]");
  t.put("header", c.csv.header);
  t.put("line_ending", c.csv.line_ending == "\r\n" ? "crlf" : "lf");
  t.put("formula_guard", c.csv.formula_guard);
  t.put("schema_version_column", c.csv.schema_version_column);
  t.put("gzip_level", c.csv.gzip_level);
  for (const auto& column : c.csv.columns) {
    t.section("[[csv.columns]]");
    t.put("source", column.source);
    t.put("header", column.header);
    t.put("mask", std::string_view(to_string(column.mask)));
  }
}

void render_schedule_and_service(TomlText& t, const Config& c) {
  t.section("[retry]");
  t.put("max_attempts", c.retry.max_attempts);
  t.put("initial_backoff_ms", static_cast<std::int64_t>(c.retry.initial_backoff.count()));
  t.put("multiplier", c.retry.multiplier);
  t.put("max_backoff_ms", static_cast<std::int64_t>(c.retry.max_backoff.count()));
  t.put("jitter", c.retry.jitter);

  t.section("[schedule]");
  t.put("cron", c.schedule.cron);
  t.put("time_zone", c.schedule.time_zone);
  t.put("missed_slot_grace_seconds",
        static_cast<std::int64_t>(c.schedule.missed_slot_grace.count()));
  t.put("sweep_interval_seconds", static_cast<std::int64_t>(c.schedule.sweep_interval.count()));
  t.put("max_consumer_lag", c.schedule.max_consumer_lag);
  t.put("consumer_group", c.schedule.consumer_group);

  t.section("[admin]");
  t.put("addr", c.admin.addr);
  t.secret("token", "USER_EXPORT_ADMIN_TOKEN", stars_if_set(c.admin.token));

  t.section("[service]");
  t.put("shutdown_timeout_seconds", static_cast<std::int64_t>(c.service.shutdown_timeout.count()));
  t.put("verify_after_slot", c.service.verify_after_slot);

  t.section("[retention]");
  t.put("days", c.retention.days);

  t.section("[log]");
  t.put("level", c.log.level);
  t.put("json", c.log.json);
}

}  // namespace

std::string render_effective_config(const Config& c) {
  TomlText t;
  t.comment("Effective configuration of user-export" +
            (c.source_path.empty() ? std::string() : " (from " + c.source_path + ")") +
            ", with the environment applied.");
  t.comment("Secrets are redacted; set them with the environment variables named below.");
  t.secret("hash key", "USER_EXPORT_HASH_KEY", stars_if_set(c.hash_key));
  render_export_and_database(t, c);
  render_store(t, c);
  render_messages_and_kafka(t, c);
  render_csv(t, c);
  render_schedule_and_service(t, c);
  return t.take();
}

}  // namespace user_export
