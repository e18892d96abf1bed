#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace user_export {

/// A one-line progress display on stderr, redrawn in place when stderr is a terminal and silent
/// otherwise (so logs and CI output stay clean). Thread-safe.
class Progress {
 public:
  /// `label` prefixes the line, e.g. "seeding users".
  explicit Progress(std::string label);
  ~Progress();
  /// Shows done/total (and a percentage); cheap to call often (redraws at most ~10 times/s).
  void update(std::int64_t done, std::int64_t total, const std::string& detail = "");
  /// Clears the line.
  void finish();
  /// Whether stderr is a terminal.
  static bool enabled();

 private:
  std::mutex mu_;
  std::string label_;
  std::int64_t last_draw_ms_ = 0;
  bool drawn_ = false;
};

}  // namespace user_export
