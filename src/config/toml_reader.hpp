#pragma once

#include <toml++/toml.h>

#include "config/config.hpp"
#include "config/problems.hpp"

namespace user_export::config_detail {

/// Copies the values of a parsed configuration document into `config`; keys that are absent
/// keep the value `config` already has. Every problem (unknown table or key, wrong type, value
/// out of range, unknown mask) is added to `problems` with its line; reading goes on after a
/// problem so all of them are reported at once. Also records the line of every key it reads.
void read_document(const toml::table& document, Config& config, Problems& problems);

}  // namespace user_export::config_detail
