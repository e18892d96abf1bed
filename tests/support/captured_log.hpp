// The default logger's lines, captured in memory for one test (header-only: the test links
// ue_observe itself).
#pragma once

#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "observe/logging.hpp"

namespace user_export::testing {

/// Captures the default logger's lines from construction to destruction; logging is off (and in
/// text mode) afterwards, as tests run it.
class CapturedLog {
 public:
  explicit CapturedLog(bool json = false, spdlog::level::level_enum level = spdlog::level::info) {
    install_logger(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_), level, json);
  }
  ~CapturedLog() {
    install_logger(std::make_shared<spdlog::sinks::ostream_sink_mt>(sink_), spdlog::level::off,
                   false);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  /// Whether any line contains `text`.
  bool contains(const std::string& text) const {
    return out_.str().find(text) != std::string::npos;
  }

 private:
  std::ostringstream out_;
  static inline std::ostringstream sink_;
};

}  // namespace user_export::testing
