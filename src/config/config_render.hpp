#pragma once

#include <string>

#include "config/config.hpp"

namespace user_export {

/// The effective configuration as TOML text that load_config_text reads back to the same
/// Config (given the same environment for the secrets). Secrets never appear: the database
/// URL's password and secret-looking `[kafka.properties]` values are shown as `***`, and the
/// secrets that only come from the environment (access key, secret key, SASL password, admin
/// token, hash key) are listed in comments as `***` (the access key as its first four
/// characters and "…"). Sizes are written in whole MiB. Used by `user-export check-config`.
std::string render_effective_config(const Config& config);

}  // namespace user_export
