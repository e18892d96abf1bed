#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace user_export {

/// Applies each column's MaskMode to its values. Thread-compatible (one per writer).
class Masker {
 public:
  /// `modes[i]` is the mode of column i. Throws Error(kConfig) if a column uses `hash` and
  /// `hash_key` is empty ("set USER_EXPORT_HASH_KEY").
  Masker(std::vector<MaskMode> modes, std::string hash_key);

  /// Masks `value` of column `column`. Returns a view of `value` itself when the mode is none,
  /// otherwise a view into an internal buffer valid until the next call. NULL stays NULL.
  std::optional<std::string_view> apply(std::size_t column, std::optional<std::string_view> value);

 private:
  std::vector<MaskMode> modes_;
  std::string hash_key_;
  std::string buffer_;
};

/// Parses `none`, `redact`, `partial`, `hash`; nullopt for anything else.
std::optional<MaskMode> parse_mask_mode(std::string_view text);
/// The config name of a mode.
const char* to_string(MaskMode mode);

}  // namespace user_export
