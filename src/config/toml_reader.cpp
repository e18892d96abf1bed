#include "config/toml_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/keys.hpp"
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

  void read(const toml::table& document) { read_table(document, "", keys_of("")); }

 private:
  /// The keys of the table at `path` ("" for the document) in declaration order, with each
  /// sub-table where its first key is declared. Secrets are left out: the file never sets them.
  std::vector<KeySpec> keys_of(std::string_view path) {
    std::vector<KeySpec> specs;
    for (const KeyDecl& key : keys()) {
      if (key.table == path) {
        if (!key.secret) specs.push_back({key.name, reader_for(key)});
        continue;
      }
      std::string_view rest = key.table;
      if (!path.empty()) {
        if (!rest.starts_with(path) || rest.size() <= path.size() || rest[path.size()] != '.')
          continue;
        rest.remove_prefix(path.size() + 1);
      }
      std::string_view child = rest.substr(0, rest.find('.'));
      bool known = std::any_of(specs.begin(), specs.end(),
                               [&](const KeySpec& spec) { return spec.name == child; });
      if (known) continue;
      std::string child_path =
          path.empty() ? std::string(child) : std::string(path) + "." + std::string(child);
      specs.push_back({child, table(keys_of(child_path))});
    }
    return specs;
  }

  ReadFn reader_for(const KeyDecl& key) {
    switch (key.kind) {
      case KeyKind::kText:
        return text(std::get<FieldAccess<std::string>>(key.field).ref(c_));
      case KeyKind::kFlag:
        return flag(std::get<FieldAccess<bool>>(key.field).ref(c_));
      case KeyKind::kInteger:
      case KeyKind::kMilliseconds:
      case KeyKind::kSeconds:
      case KeyKind::kMebibytes:
        return whole(key);
      case KeyKind::kReal:
        return real(key);
      case KeyKind::kCustom:
        break;
    }
    return custom_reader(key);
  }

  ReadFn custom_reader(const KeyDecl& key) {
    const std::string dotted = key.dotted();
    if (dotted == "csv.line_ending") {
      return [this](const toml::node& node, const std::string& k) { read_line_ending(node, k); };
    }
    if (dotted == "csv.columns") {
      return [this](const toml::node& node, const std::string& k) { read_columns(node, k); };
    }
    if (dotted == "kafka.properties") {
      return [this](const toml::node& node, const std::string& k) { read_properties(node, k); };
    }
    throw std::logic_error("no reader for the custom configuration key " + dotted);
  }

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

  /// The integer at `node` when it is one and lies in the range of `decl`, else nullopt (and a
  /// problem).
  std::optional<std::int64_t> integer(const toml::node& node, const std::string& key,
                                      const KeyDecl& decl) {
    if (!expect(node, key, toml::node_type::integer)) return std::nullopt;
    std::int64_t value = node.as_integer()->get();
    if (std::string problem = range_problem(decl, value); !problem.empty()) {
      p_.add_at(line_of(node), key, problem);
      return std::nullopt;
    }
    return value;
  }

  /// An integer key of any unit; its field converts from the unit written.
  ReadFn whole(const KeyDecl& decl) {
    return [this, &decl](const toml::node& node, const std::string& key) {
      if (auto value = integer(node, key, decl)) {
        std::get<IntegerAccess>(decl.field).set(c_, *value);
      }
    };
  }

  /// A number (integer or float) in the range of `decl`.
  ReadFn real(const KeyDecl& decl) {
    return [this, &decl](const toml::node& node, const std::string& key) {
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
      if (std::string problem = range_problem(decl, value); !problem.empty()) {
        p_.add_at(line_of(node), key, problem);
        return;
      }
      std::get<FieldAccess<double>>(decl.field).ref(c_) = value;
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
