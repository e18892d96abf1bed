#pragma once

#include <spdlog/common.h>

#include <string>

namespace user_export {

/// Parses a configured level (trace, debug, info, warn, error, off). Throws Error(kConfig) for
/// anything else.
spdlog::level::level_enum parse_log_level(const std::string& level);

/// Sends every log line of the process (the default spdlog logger) to stderr at `level`: as text
/// `2026-01-01T00:00:00.000Z info msg key=value …`, or with `json` one JSON object per line
/// `{"ts","level","msg", fields…}`. May be called again to reconfigure. Throws Error(kConfig)
/// for an unknown level.
void init_logging(const std::string& level, bool json = false);

/// Makes a logger writing to `sink` in the text or JSON format the process default (what
/// init_logging does with stderr; tests pass a memory sink).
void install_logger(spdlog::sink_ptr sink, spdlog::level::level_enum level, bool json);

}  // namespace user_export
