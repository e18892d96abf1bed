#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/config_render.hpp"  // render_effective_config, the other half of check-config
#include "config/environment.hpp"

namespace user_export {

/// Reads the TOML configuration `file`, applies the environment variables of `env` on top
/// (the README's "Configuration" table; an empty variable counts as unset), fills in the computed
/// defaults and checks the result. Throws Error(kConfig) when the file cannot be read or the
/// configuration is invalid; the message lists every problem found, one per line, each as
/// "<file>:<line>: <key>: <problem>; <what to do>".
Config load_config(const std::filesystem::path& file, const Environment& env);

/// As load_config, for TOML text already in memory; `source_name` names it in messages and
/// becomes Config::source_path.
Config load_config_text(std::string_view toml_text, const std::string& source_name,
                        const Environment& env);

/// The configuration file to use: `cli_value` (from --config) when given, else the
/// USER_EXPORT_CONFIG variable. Throws Error(kUsage) when neither is set.
std::filesystem::path config_path_from(std::optional<std::string> cli_value,
                                       const Environment& env);

}  // namespace user_export
