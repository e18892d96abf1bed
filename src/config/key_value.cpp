#include <cmath>

#include "config/keys.hpp"
#include "config/toml_string.hpp"

// The checks and the TOML text of one key's value, as declared in keys.cpp.

namespace user_export::config_detail {

std::string range_problem(const KeyDecl& key, std::int64_t value) {
  const IntegerRange& range = key.integers;
  if (value >= range.min && value <= range.max) return {};
  std::string text = range.max == kNoMax ? "must be at least " + std::to_string(range.min)
                                         : "must be between " + std::to_string(range.min) +
                                               " and " + std::to_string(range.max);
  text += ", found " + std::to_string(value) + "; ";
  text += range.why.empty() ? std::string("change it to a value in that range")
                            : std::string(range.why);
  return text;
}

std::string range_problem(const KeyDecl& key, double value) {
  const RealRange& range = key.reals;
  bool ok = std::isfinite(value) && value >= range.min &&
            (range.max_open ? value < range.max : value <= range.max);
  if (ok) return {};
  std::string text =
      range.max == kNoRealMax ? "at least " + toml_float(range.min)
      : range.max_open ? "at least " + toml_float(range.min) + " and below " + toml_float(range.max)
                       : "between " + toml_float(range.min) + " and " + toml_float(range.max);
  return "must be " + text + ", found " + toml_float(value) +
         "; change it to a value in that range";
}

std::string toml_value(const KeyDecl& key, const Config& config) {
  if (const auto* text = std::get_if<FieldAccess<std::string>>(&key.field)) {
    const std::string& value = text->get(config);
    return toml_quote(key.shown != nullptr ? key.shown(value) : value);
  }
  if (const auto* flag = std::get_if<FieldAccess<bool>>(&key.field)) {
    return flag->get(config) ? "true" : "false";
  }
  if (const auto* real = std::get_if<FieldAccess<double>>(&key.field)) {
    return toml_float(real->get(config));
  }
  if (const auto* integer = std::get_if<IntegerAccess>(&key.field)) {
    return std::to_string(integer->get(config));
  }
  return {};
}

}  // namespace user_export::config_detail
