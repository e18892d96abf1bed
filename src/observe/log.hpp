#pragma once

#include <spdlog/common.h>

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "domain/ids.hpp"

namespace user_export::log {

/// One structured field of a log line: a snake_case key and its value. Numbers stay numbers in
/// JSON output; everything else is a string.
struct Field {
  /// A string field.
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  /// A string field (keeps string literals away from the bool overload).
  Field(std::string_view k, const char* v) : key(k), value(v == nullptr ? "" : v) {}
  /// A string field.
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  /// A string field: a run id or owner as its text.
  template <typename Tag>
  Field(std::string_view k, const TextId<Tag>& v) : key(k), value(v.str()) {}
  /// A boolean field, written `true`/`false`.
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), number(true) {}
  /// An integer field.
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), number(true) {}
  /// A floating-point field with up to 6 significant digits (NaN/inf become strings).
  Field(std::string_view k, double v);

  std::string key;      ///< snake_case name, e.g. run_id
  std::string value;    ///< the value as text
  bool number = false;  ///< true when `value` is a JSON number or boolean literal
};

/// The fields of one line, in the order they are written.
using Fields = std::vector<Field>;

/// Writes `msg` with `fields` through the default spdlog logger at `level`. Text mode renders
/// `msg key=value …` (values with spaces, quotes, `=` or control characters are double-quoted
/// and escaped); JSON mode (see init_logging) renders the fields as members of the line's
/// object. Nothing is formatted when the level is disabled. Thread-safe.
void write(spdlog::level::level_enum level, std::string_view msg, const Fields& fields);

/// write() at debug level.
inline void debug(std::string_view msg, const Fields& fields = {}) {
  write(spdlog::level::debug, msg, fields);
}
/// write() at info level.
inline void info(std::string_view msg, const Fields& fields = {}) {
  write(spdlog::level::info, msg, fields);
}
/// write() at warn level.
inline void warn(std::string_view msg, const Fields& fields = {}) {
  write(spdlog::level::warn, msg, fields);
}
/// write() at error level.
inline void error(std::string_view msg, const Fields& fields = {}) {
  write(spdlog::level::err, msg, fields);
}

/// `msg key=value …` as written in text mode.
std::string render_text(std::string_view msg, const Fields& fields);

/// `text` as the contents of a JSON string (quotes, backslashes and control characters escaped;
/// invalid UTF-8 bytes replaced by U+FFFD so every line stays valid JSON).
std::string json_escape(std::string_view text);

/// Selects JSON (true) or text (false) rendering for write(); set by init_logging.
void set_json(bool json);

/// The fields of the write() call currently being formatted on this thread, or nullptr (used by
/// the JSON formatter; valid only while that call runs).
const Fields* current_fields();

}  // namespace user_export::log
