#include "config/names.hpp"

#include <array>

namespace user_export::config_detail {

std::span<const std::string_view> csv_source_fields() {
  static constexpr std::array<std::string_view, 13> kFields = {
      "id",           "ref_id", "username",      "email", "phone", "group_id", "created_at",
      "display_name", "gender", "date_of_birth", "city",  "bio",   "interests"};
  return kFields;
}

std::span<const EnvBinding> env_bindings() {
  static const std::array<EnvBinding, 16> kBindings = {{
      {"USER_EXPORT_DATABASE_URL", "database.url", false,
       [](Config& c) -> std::string& { return c.database.url; }},
      {"USER_EXPORT_DOMAIN_ID", "export.domain_id", false,
       [](Config& c) -> std::string& { return c.export_.domain_id; }},
      {"USER_EXPORT_STORE_URL", "store.url", false,
       [](Config& c) -> std::string& { return c.store.url; }},
      {"USER_EXPORT_S3_ENDPOINT", "store.s3.endpoint", false,
       [](Config& c) -> std::string& { return c.store.s3_endpoint; }},
      {"USER_EXPORT_S3_REGION", "store.s3.region", false,
       [](Config& c) -> std::string& { return c.store.s3_region; }},
      {"AWS_ACCESS_KEY_ID", "store.s3.access_key", true,
       [](Config& c) -> std::string& { return c.store.access_key; }},
      {"AWS_SECRET_ACCESS_KEY", "store.s3.secret_key", true,
       [](Config& c) -> std::string& { return c.store.secret_key; }},
      {"USER_EXPORT_KAFKA_BOOTSTRAP", "kafka.bootstrap", false,
       [](Config& c) -> std::string& { return c.kafka.bootstrap; }},
      {"USER_EXPORT_KAFKA_SASL_PASSWORD", "kafka.sasl_password", true,
       [](Config& c) -> std::string& { return c.kafka.sasl_password; }},
      {"USER_EXPORT_MESSAGES_FILE", "messages.file", false,
       [](Config& c) -> std::string& { return c.messages.file; }},
      {"USER_EXPORT_SCHEDULE", "schedule.cron", false,
       [](Config& c) -> std::string& { return c.schedule.cron; }},
      {"USER_EXPORT_TIME_ZONE", "schedule.time_zone", false,
       [](Config& c) -> std::string& { return c.schedule.time_zone; }},
      {"USER_EXPORT_ADMIN_ADDR", "admin.addr", false,
       [](Config& c) -> std::string& { return c.admin.addr; }},
      {"USER_EXPORT_ADMIN_TOKEN", "admin.token", true,
       [](Config& c) -> std::string& { return c.admin.token; }},
      {"USER_EXPORT_HASH_KEY", "hash_key", true,
       [](Config& c) -> std::string& { return c.hash_key; }},
      {"USER_EXPORT_LOG_LEVEL", "log.level", false,
       [](Config& c) -> std::string& { return c.log.level; }},
  }};
  return kBindings;
}

const EnvBinding* env_binding_for(std::string_view key) {
  for (const auto& binding : env_bindings()) {
    if (binding.key == key) return &binding;
  }
  return nullptr;
}

std::span<const SecretPropertyBinding> secret_property_bindings() {
  static constexpr std::array<SecretPropertyBinding, 5> kBindings = {{
      {"ssl.key.password", "USER_EXPORT_KAFKA_SSL_KEY_PASSWORD"},
      {"ssl.key.pem", "USER_EXPORT_KAFKA_SSL_KEY_PEM"},
      {"ssl.keystore.password", "USER_EXPORT_KAFKA_SSL_KEYSTORE_PASSWORD"},
      {"sasl.oauthbearer.client.secret", "USER_EXPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET"},
      {"sasl.oauthbearer.config", "USER_EXPORT_KAFKA_SASL_OAUTHBEARER_CONFIG"},
  }};
  return kBindings;
}

const SecretPropertyBinding* secret_property_binding(std::string_view property) {
  for (const auto& binding : secret_property_bindings()) {
    if (binding.property == property) return &binding;
  }
  return nullptr;
}

}  // namespace user_export::config_detail
