#include "config/names.hpp"

#include <array>
#include <stdexcept>
#include <vector>

#include "config/keys.hpp"

namespace user_export::config_detail {

std::span<const std::string_view> csv_source_fields() {
  static constexpr std::array<std::string_view, 13> kFields = {
      "id",           "ref_id", "username",      "email", "phone", "group_id", "created_at",
      "display_name", "gender", "date_of_birth", "city",  "bio",   "interests"};
  return kFields;
}

std::span<const EnvBinding> env_bindings() {
  // Only text keys have a variable: a variable on another kind of key throws here, at the first
  // load, rather than setting a value without its range check.
  static const std::vector<std::string> kDotted = [] {
    std::vector<std::string> dotted;
    for (const KeyDecl& key : keys()) {
      if (key.variable.empty()) continue;
      if (key.kind != KeyKind::kText) {
        throw std::logic_error("the environment variable " + std::string(key.variable) + " sets " +
                               key.dotted() + ", which is not a text key");
      }
      dotted.push_back(key.dotted());
    }
    return dotted;
  }();
  static const std::vector<EnvBinding> kBindings = [] {
    std::vector<EnvBinding> bindings;
    for (const KeyDecl& key : keys()) {
      if (key.variable.empty()) continue;
      bindings.push_back({key.variable, kDotted[bindings.size()], key.secret,
                          std::get<FieldAccess<std::string>>(key.field).ref});
    }
    return bindings;
  }();
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
