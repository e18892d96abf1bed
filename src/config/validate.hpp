#pragma once

#include "config/config.hpp"
#include "config/problems.hpp"

namespace user_export::config_detail {

/// Checks the effective configuration (file read, environment applied, defaults filled in):
/// required values, URL schemes, bucket name, domain id, Kafka security settings, CSV columns
/// and values that depend on each other. Adds every problem found to `problems`.
void validate(const Config& config, Problems& problems);

}  // namespace user_export::config_detail
