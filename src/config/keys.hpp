#pragma once

// Every configuration key, declared once: where it lives in the file, how its value is read,
// which range it must lie in, which environment variable sets it, and what it means. The TOML
// reader, the environment bindings and the renderer all walk this table; the defaults are the
// member initializers of config.hpp, read from a default-constructed Config.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"

namespace user_export::config_detail {

/// How a key's value is written in the file.
enum class KeyKind {
  kText,          ///< a string
  kFlag,          ///< a boolean
  kInteger,       ///< a whole number
  kMilliseconds,  ///< a whole number of milliseconds (`*_ms`)
  kSeconds,       ///< a whole number of seconds, or of hours (`*_seconds`, `*_hours`)
  kMebibytes,     ///< a whole number of MiB (`*_mib`)
  kReal,          ///< an integer or floating-point number
  kCustom,        ///< read and rendered by code of its own (csv.columns, csv.line_ending, ...)
};

/// Reads and sets a value of type T in a Config.
template <typename T>
struct FieldAccess {
  T& (*ref)(Config&);              ///< the value, to set it
  const T& (*get)(const Config&);  ///< the value, to show it
};

/// Reads and sets an integer key's value in the unit the file writes it (ms, seconds or hours,
/// MiB), converting to and from the Config's type.
struct IntegerAccess {
  std::int64_t (*get)(const Config&);
  void (*set)(Config&, std::int64_t);
};

/// Where a key's value lives in a Config; monostate for custom keys with no single field.
using KeyField = std::variant<std::monostate, FieldAccess<std::string>, FieldAccess<bool>,
                              FieldAccess<double>, IntegerAccess>;

/// No upper bound of an integer key.
inline constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
/// No upper bound of a real key.
inline constexpr double kNoRealMax = std::numeric_limits<double>::infinity();

/// The values an integer key accepts, in the unit the file writes it.
struct IntegerRange {
  std::int64_t min = 0;
  std::int64_t max = kNoMax;
  std::string_view why{};  ///< ends a range error; "" = "change it to a value in that range"
};

/// The values a real key accepts: [min, max], or [min, max) when `max_open`.
struct RealRange {
  double min = 0;
  double max = kNoRealMax;
  bool max_open = false;
};

/// One configuration key.
struct KeyDecl {
  std::string_view table{};  ///< dotted path of its table, e.g. `store.s3`; "" at the top level
  std::string_view name{};   ///< its name in the table, e.g. `part_size_mib`
  KeyKind kind = KeyKind::kText;
  KeyField field{};             ///< where its value lives (monostate for some custom keys)
  IntegerRange integers{};      ///< range of the integer kinds
  RealRange reals{};            ///< range of kReal
  std::string_view variable{};  ///< environment variable that sets it; "" = none
  bool secret = false;  ///< set only by `variable`: never read from the file, redacted when shown
  /// How the value is shown when rendered; nullptr = as it is (a set secret shows `***`).
  std::string (*shown)(std::string_view value) = nullptr;
  std::string_view help{};  ///< one line: what it means

  /// `table.name` (just `name` at the top level).
  std::string dotted() const;
};

/// Every key, in file order: tables in the order they are documented and rendered, and each
/// table's keys in order (secrets after the keys the file may set).
std::span<const KeyDecl> keys();
/// The key whose dotted name is `dotted`, or nullptr.
const KeyDecl* key_for(std::string_view dotted);

/// "" when `value` is in the key's integer range, else what is wrong and what to do, e.g.
/// "must be between 1 and 1024, found 0; change it to a value in that range".
std::string range_problem(const KeyDecl& key, std::int64_t value);
/// "" when `value` is finite and in the key's real range, else what is wrong and what to do.
std::string range_problem(const KeyDecl& key, double value);

/// A simple (not custom, not secret) key's value in `config` as TOML writes it, e.g. `8`,
/// `"zstd"`, `true`, `0.2`, after `shown`.
std::string toml_value(const KeyDecl& key, const Config& config);

}  // namespace user_export::config_detail
