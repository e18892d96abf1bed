#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "format/hmac_sha256.hpp"

namespace user_export {

/// Applies each column's MaskMode to its values:
///  - none: the value as stored;
///  - redact: `[REDACTED]`;
///  - partial: an email (`local@domain`, split at the last `@`, both sides non-empty) keeps the
///    first character of the local part, then `***`, then `@domain` (`j***@example.com`); any
///    other value of more than 4 characters keeps its first and last character with one `*` for
///    each character in between (`+************8`), and a value of 4 characters or fewer becomes
///    one `*` per character. Characters are whole UTF-8 sequences, never split; a byte that is
///    not valid UTF-8 counts as one character;
///  - hash: 64 lower-case hex characters of HMAC-SHA-256 keyed with USER_EXPORT_HASH_KEY, so
///    equal values stay joinable without being readable.
/// NULL stays NULL in every mode. Thread-compatible: use one instance per writer; copies are
/// independent.
class Masker {
 public:
  /// `modes[i]` is the mode of column i. Throws Error(kConfig) if a column uses `hash` and
  /// `hash_key` is empty ("set USER_EXPORT_HASH_KEY").
  Masker(std::vector<MaskMode> modes, std::string hash_key);

  /// The masker for `columns`' mask modes, in column order.
  static Masker for_columns(const std::vector<CsvColumn>& columns, std::string hash_key);

  /// Masks `value` of column `column`. Returns a view of `value` itself when the mode is none,
  /// otherwise a view into an internal buffer valid until the next call. NULL stays NULL.
  /// Throws Error(kInternal) if `column` is not below columns().
  std::optional<std::string_view> apply(std::size_t column, std::optional<std::string_view> value);

  /// Number of columns this masker was built for.
  std::size_t columns() const { return modes_.size(); }

 private:
  std::string_view partial(std::string_view value);

  std::vector<MaskMode> modes_;
  std::optional<HmacSha256> hmac_;  // present iff some column uses `hash`
  std::string buffer_;              // reused for every masked value; grows to the largest one
};

}  // namespace user_export
