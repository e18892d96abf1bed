#include "config/config_render.hpp"

#include <algorithm>
#include <stdexcept>

#include "config/keys.hpp"
#include "config/names.hpp"
#include "config/redact.hpp"
#include "config/toml_string.hpp"

namespace user_export {
namespace {

using config_detail::toml_key;
using config_detail::toml_quote;

/// Appends TOML lines to a string.
class TomlText {
 public:
  void section(std::string_view header) { out_ += "\n" + std::string(header) + "\n"; }
  void comment(std::string_view text) { out_ += "# " + std::string(text) + "\n"; }
  void put(std::string_view key, std::string_view value) { line(key, toml_quote(value)); }
  void put(std::string_view key, const char* value) { put(key, std::string_view(value)); }
  /// A value already written as TOML.
  void value(std::string_view key, const std::string& toml) { line(key, toml); }
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

using config_detail::FieldAccess;
using config_detail::KeyDecl;
using config_detail::KeyKind;

std::string stars_if_set(const std::string& secret) {
  return secret.empty() ? std::string() : std::string(kRedacted);
}

/// A comment naming a secret and whether it is set, never its value. A secret at the top level
/// sits in no table, so it is named in words (`hash key`).
void render_secret(TomlText& t, const KeyDecl& key, const Config& c) {
  const std::string& value = std::get<FieldAccess<std::string>>(key.field).get(c);
  std::string label(key.name);
  if (key.table.empty()) std::replace(label.begin(), label.end(), '_', ' ');
  t.secret(label, key.variable,
           value.empty() || key.shown == nullptr ? stars_if_set(value) : key.shown(value));
}

void render_kafka_properties(TomlText& t, const Config& c) {
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

void render_columns(TomlText& t, const Config& c) {
  for (const auto& column : c.csv.columns) {
    t.section("[[csv.columns]]");
    t.put("source", column.source);
    t.put("header", column.header);
    t.put("mask", std::string_view(to_string(column.mask)));
  }
}

/// Keys whose value is more than one field, or is written differently than it is stored.
void render_custom(TomlText& t, const KeyDecl& key, const Config& c) {
  const std::string dotted = key.dotted();
  if (dotted == "csv.line_ending") {
    t.put(key.name, c.csv.line_ending == "\r\n" ? "crlf" : "lf");
  } else if (dotted == "csv.columns") {
    render_columns(t, c);
  } else if (dotted == "kafka.properties") {
    render_kafka_properties(t, c);
  } else {
    throw std::logic_error("no rendering of the custom configuration key " + dotted);
  }
}

}  // namespace

std::string render_effective_config(const Config& c) {
  TomlText t;
  t.comment("Effective configuration of user-export" +
            (c.source_path.empty() ? std::string() : " (from " + c.source_path + ")") +
            ", with the environment applied.");
  t.comment("Secrets are redacted; set them with the environment variables named below.");
  std::string_view table;
  for (const KeyDecl& key : config_detail::keys()) {
    if (key.table != table) {
      table = key.table;
      t.section("[" + std::string(table) + "]");
    }
    if (key.secret) {
      render_secret(t, key, c);
    } else if (key.kind == KeyKind::kCustom) {
      render_custom(t, key, c);
    } else {
      t.value(key.name, config_detail::toml_value(key, c));
    }
  }
  return t.take();
}

}  // namespace user_export
