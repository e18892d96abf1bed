#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "config/config.hpp"

namespace user_export::config_detail {

/// The source fields a CSV column may name; the same list as the repository's
/// known_source_fields(), kept here so the config does not depend on the source library.
std::span<const std::string_view> csv_source_fields();

/// One environment variable that sets a configuration value.
struct EnvBinding {
  std::string_view variable;  ///< e.g. USER_EXPORT_DATABASE_URL
  std::string_view key;       ///< the dotted key it sets, e.g. database.url
  bool secret;                ///< a secret: read only from the environment, never from the file
  std::string& (*field)(Config&);  ///< the value it sets
};

/// Every environment variable that sets a key, in the order keys() declares the keys.
std::span<const EnvBinding> env_bindings();
/// The binding that sets `key`, or nullptr.
const EnvBinding* env_binding_for(std::string_view key);

/// A librdkafka property that holds a secret, and the environment variable that sets it (it
/// is never read from `[kafka.properties]`).
struct SecretPropertyBinding {
  std::string_view property;  ///< e.g. ssl.key.password
  std::string_view variable;  ///< e.g. USER_EXPORT_KAFKA_SSL_KEY_PASSWORD
};

/// Every secret librdkafka property the environment can set (sasl.password has its own key,
/// kafka.sasl_password, and is not among them).
std::span<const SecretPropertyBinding> secret_property_bindings();
/// The binding of `property`, or nullptr.
const SecretPropertyBinding* secret_property_binding(std::string_view property);

}  // namespace user_export::config_detail
