#include "config/config_loader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/process_owner.hpp"
#include "config/names.hpp"
#include "config/problems.hpp"
#include "config/toml_reader.hpp"
#include "config/validate.hpp"
#include "domain/ids.hpp"

namespace user_export {
namespace {

/// Sets every value whose environment variable is set (and not empty).
void apply_environment(const Environment& env, Config& config, config_detail::Problems& problems) {
  for (const auto& binding : config_detail::env_bindings()) {
    auto value = env.get(binding.variable);
    if (!value || value->empty()) continue;
    binding.field(config) = *value;
    problems.set_by_environment(std::string(binding.key), std::string(binding.variable));
  }
  for (const auto& binding : config_detail::secret_property_bindings()) {
    auto value = env.get(binding.variable);
    if (!value || value->empty()) continue;
    config.kafka.extra[std::string(binding.property)] = *value;
  }
}

/// Defaults that depend on the machine: columns, staging dir and instance id.
void fill_defaults(const Environment& env, Config& config) {
  if (config.csv.columns.empty()) config.csv.columns = default_csv_columns();
  if (config.export_.staging_dir.empty()) {
    std::string temp = env.get("TMPDIR").value_or("");
    if (!temp.starts_with("/")) temp = "/tmp";
    while (temp.size() > 1 && temp.ends_with("/")) temp.pop_back();
    config.export_.staging_dir = temp + "/user-export-staging-" + std::to_string(getuid());
  }
  if (config.export_.instance_id.empty()) {
    config.export_.instance_id = default_instance_id();
  }
}

}  // namespace

Config load_config_text(std::string_view toml_text, const std::string& source_name,
                        const Environment& env) {
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw Error(ErrorCode::kConfig, source_name + ":" + std::to_string(begin.line) + ":" +
                                        std::to_string(begin.column) +
                                        ": TOML syntax error: " + std::string(e.description()) +
                                        "; fix the file at that position");
  }
  Config config;
  config.source_path = source_name;
  config_detail::Problems problems(source_name);
  config_detail::read_document(document, config, problems);
  apply_environment(env, config, problems);
  fill_defaults(env, config);
  config_detail::validate(config, problems);
  problems.throw_if_any();
  config.export_.domain_id = DomainId::parse(config.export_.domain_id).str();
  return config;
}

Config load_config(const std::filesystem::path& file, const Environment& env) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw Error(ErrorCode::kConfig, file.string() +
                                        ": the configuration file does not exist; check the "
                                        "path given with --config or USER_EXPORT_CONFIG");
  }
  if (std::filesystem::is_directory(file, ec)) {
    throw Error(ErrorCode::kConfig, file.string() +
                                        ": is a directory, not a configuration file; point "
                                        "--config or USER_EXPORT_CONFIG at the TOML file");
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    throw Error(ErrorCode::kConfig, file.string() + ": cannot read the configuration file (" +
                                        std::strerror(errno) + "); check its permissions");
  }
  return load_config_text(text.str(), file.string(), env);
}

std::filesystem::path config_path_from(std::optional<std::string> cli_value,
                                       const Environment& env) {
  if (cli_value && !cli_value->empty()) return *cli_value;
  if (auto from_env = env.get("USER_EXPORT_CONFIG"); from_env && !from_env->empty()) {
    return *from_env;
  }
  throw Error(ErrorCode::kUsage,
              "no configuration file given; pass --config FILE or set USER_EXPORT_CONFIG "
              "(config/example.toml is a starting point)");
}

}  // namespace user_export
