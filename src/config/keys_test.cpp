#include "config/keys.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "config/config_render.hpp"
#include "config/names.hpp"
#include "config/toml_reader.hpp"

namespace user_export::config_detail {
namespace {

using ::testing::HasSubstr;

bool is_custom_table(std::string_view dotted) {
  const KeyDecl* key = key_for(dotted);
  return key != nullptr && key->kind == KeyKind::kCustom;
}

TEST(ConfigKeys, EachKeyIsDeclaredOnceWithHelp) {
  std::set<std::string> seen;
  for (const KeyDecl& key : keys()) {
    EXPECT_TRUE(seen.insert(key.dotted()).second) << key.dotted() << " is declared twice";
    EXPECT_FALSE(key.help.empty()) << key.dotted() << " has no help";
    EXPECT_EQ(key_for(key.dotted()), &key);
  }
  EXPECT_EQ(key_for("export.no_such_key"), nullptr);
}

TEST(ConfigKeys, EachTablesKeysAreDeclaredTogether) {
  // The renderer starts a section whenever the table changes, so a table split in two would be
  // rendered twice, which TOML refuses.
  std::set<std::string_view> finished;
  std::string_view table;
  for (const KeyDecl& key : keys()) {
    if (key.table == table) continue;
    EXPECT_TRUE(finished.insert(table).second) << "[" << table << "] is declared in two places";
    EXPECT_EQ(finished.count(key.table), 0u) << key.dotted() << " is apart from its table";
    table = key.table;
  }
}

TEST(ConfigKeys, EachKindHasAFieldOfItsType) {
  for (const KeyDecl& key : keys()) {
    switch (key.kind) {
      case KeyKind::kText:
        EXPECT_TRUE(std::holds_alternative<FieldAccess<std::string>>(key.field)) << key.dotted();
        break;
      case KeyKind::kFlag:
        EXPECT_TRUE(std::holds_alternative<FieldAccess<bool>>(key.field)) << key.dotted();
        break;
      case KeyKind::kReal:
        EXPECT_TRUE(std::holds_alternative<FieldAccess<double>>(key.field)) << key.dotted();
        break;
      case KeyKind::kInteger:
      case KeyKind::kMilliseconds:
      case KeyKind::kSeconds:
      case KeyKind::kMebibytes:
        EXPECT_TRUE(std::holds_alternative<IntegerAccess>(key.field)) << key.dotted();
        EXPECT_LE(key.integers.min, key.integers.max) << key.dotted();
        break;
      case KeyKind::kCustom:
        break;
    }
    if (key.secret) {
      EXPECT_FALSE(key.variable.empty()) << key.dotted() << " is a secret nothing can set";
    }
  }
}

TEST(ConfigKeys, EveryDefaultLiesInItsRange) {
  const Config defaults;
  for (const KeyDecl& key : keys()) {
    if (const auto* integer = std::get_if<IntegerAccess>(&key.field)) {
      EXPECT_EQ(range_problem(key, integer->get(defaults)), "") << key.dotted();
    } else if (const auto* real = std::get_if<FieldAccess<double>>(&key.field)) {
      EXPECT_EQ(range_problem(key, real->get(defaults)), "") << key.dotted();
    }
  }
}

TEST(ConfigKeys, RangeProblemsSayTheRangeAndWhy) {
  const KeyDecl& gzip = *key_for("csv.gzip_level");
  EXPECT_EQ(range_problem(gzip, std::int64_t{4}),
            "must be between 0 and 3, found 4; ISA-L has levels 0 to 3");
  const KeyDecl& jitter = *key_for("retry.jitter");
  EXPECT_EQ(range_problem(jitter, 1.0),
            "must be at least 0.0 and below 1.0, found 1.0; change it to a value in that range");
  EXPECT_EQ(range_problem(jitter, 0.5), "");
}

TEST(ConfigKeys, EnvironmentBindingsAreTheDeclaredVariables) {
  std::set<std::string> declared;
  for (const KeyDecl& key : keys()) {
    if (key.variable.empty()) continue;
    // A variable sets its value as text; a variable on a ranged key would need the range check.
    EXPECT_EQ(key.kind, KeyKind::kText) << key.dotted();
    declared.insert(key.dotted());
    const EnvBinding* binding = env_binding_for(key.dotted());
    ASSERT_NE(binding, nullptr) << key.dotted();
    EXPECT_EQ(binding->variable, key.variable);
    EXPECT_EQ(binding->secret, key.secret);
    Config config;
    binding->field(config) = "set";
    EXPECT_EQ(std::get<FieldAccess<std::string>>(key.field).get(config), "set");
  }
  EXPECT_EQ(env_bindings().size(), declared.size());
}

/// The defaults a load starts from: a default-constructed Config with the default columns the
/// loader fills in.
Config defaults() {
  Config config;
  config.csv.columns = default_csv_columns();
  return config;
}

TEST(ConfigKeys, EveryKeyRendersItsDefault) {
  const std::string text = render_effective_config(defaults());
  const toml::table rendered = toml::parse(text);
  for (const KeyDecl& key : keys()) {
    if (key.secret) {
      EXPECT_THAT(text, HasSubstr("# " + std::string(key.table.empty() ? "hash key" : key.name) +
                                  ": not set; set it with " + std::string(key.variable) + "\n"));
    } else {
      EXPECT_TRUE(rendered.at_path(key.dotted())) << key.dotted() << " is not rendered";
    }
  }
  // Each rendered key is read back to the value it was rendered from.
  Config read = defaults();
  read.csv.columns.clear();
  Problems problems("rendered");
  read_document(rendered, read, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(render_effective_config(read), text) << "a rendered value reads back differently";
  EXPECT_TRUE(read == defaults());
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// What config/example.toml documents: the keys it writes (commented out or not) with the
/// variable named by "Environment: VAR" in the comments above each, its table headers, and
/// the variables named before its first table (where the secrets are listed).
struct Example {
  std::map<std::string, std::string> variables;  ///< dotted key -> variable ("" = none)
  std::set<std::string> tables;
  std::set<std::string> preamble_variables;
};

/// The environment variables `text` names.
std::set<std::string> variables_in(const std::string& text) {
  const std::regex variable(R"(\b(USER_EXPORT|AWS)_[A-Z0-9_]+)");
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), variable), end; it != end; ++it) {
    names.insert(it->str());
  }
  return names;
}

Example read_example() {
  Example example;
  std::istringstream lines(read_file(UE_EXAMPLE_CONFIG));
  const std::regex key_line(R"(^(# )?([a-z_]+) = .*)");
  const std::regex environment(R"(Environment: ([A-Z0-9_]+))");
  std::string table;
  bool preamble = true;
  std::string comments;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (line.starts_with("[")) {
      preamble = false;
      table = line.substr(line.find_first_not_of('['));
      table = table.substr(0, table.find(']'));
      example.tables.insert(table);
      comments.clear();
    } else if (preamble) {
      example.preamble_variables.merge(variables_in(line));
    } else if (line.empty()) {
      comments.clear();
    } else if (std::regex_match(line, match, key_line) && !is_custom_table(table)) {
      const std::string key = table + "." + match[2].str();
      std::smatch variable;
      std::regex_search(comments, variable, environment);
      example.variables[key] = variable.empty() ? "" : variable[1].str();
      comments.clear();
    } else {
      comments += line + "\n";
    }
  }
  return example;
}

TEST(ConfigKeys, ExampleFileDocumentsEveryDeclaredKeyAndNoOther) {
  const Example example = read_example();
  std::set<std::string> tables;
  for (const KeyDecl& key : keys()) {
    const std::string dotted = key.dotted();
    if (!key.table.empty()) tables.insert(std::string(key.table));
    if (key.secret) {
      EXPECT_EQ(example.preamble_variables.count(std::string(key.variable)), 1u)
          << dotted << " is a secret the example does not list";
      EXPECT_EQ(example.variables.count(dotted), 0u) << dotted << " is a secret";
    } else if (key.kind == KeyKind::kCustom && example.tables.count(dotted) > 0) {
      continue;  // [kafka.properties], [[csv.columns]]
    } else if (auto it = example.variables.find(dotted); it == example.variables.end()) {
      ADD_FAILURE() << dotted << " is declared but not in config/example.toml";
    } else {
      EXPECT_EQ(it->second, key.variable) << "the environment variable of " << dotted;
    }
  }
  for (const auto& [dotted, variable] : example.variables) {
    const KeyDecl* key = key_for(dotted);
    EXPECT_TRUE(key != nullptr && !key->secret)
        << dotted << " is in config/example.toml but not declared";
  }
  for (const auto& table : example.tables) {
    EXPECT_TRUE(tables.count(table) > 0 || is_custom_table(table))
        << "[" << table << "] is in config/example.toml but not declared";
  }
  // Every variable the preamble lists sets a secret key or a secret librdkafka property.
  for (const std::string& name : example.preamble_variables) {
    bool known = name == "USER_EXPORT_CONFIG";
    for (const auto& binding : env_bindings()) known = known || binding.variable == name;
    for (const auto& binding : secret_property_bindings())
      known = known || binding.variable == name;
    EXPECT_TRUE(known) << name << " is in config/example.toml but sets nothing";
  }
}

/// The variables of README's configuration table ("| variable | meaning |").
std::set<std::string> readme_variables() {
  std::istringstream lines(read_file(UE_README));
  std::set<std::string> variables;
  bool in_table = false;
  const std::regex name(R"(`([A-Z][A-Z0-9_]+)`)");
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("| variable | meaning |")) {
      in_table = true;
    } else if (in_table && !line.starts_with("|")) {
      break;
    } else if (in_table) {
      const std::string cell = line.substr(1, line.find('|', 1) - 1);
      for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it) {
        variables.insert((*it)[1].str());
      }
    }
  }
  return variables;
}

TEST(ConfigKeys, ReadmeListsEveryDeclaredVariableAndNoOther) {
  std::set<std::string> documented = readme_variables();
  ASSERT_EQ(documented.erase("USER_EXPORT_CONFIG"), 1u) << "README's table was not found";
  std::set<std::string> declared;
  for (const KeyDecl& key : keys()) {
    if (!key.variable.empty()) declared.insert(std::string(key.variable));
  }
  for (const auto& variable : declared) {
    EXPECT_EQ(documented.count(variable), 1u) << variable << " is not in README's table";
  }
  for (const auto& variable : documented) {
    EXPECT_EQ(declared.count(variable), 1u) << variable << " is in README but sets no key";
  }
}

}  // namespace
}  // namespace user_export::config_detail
