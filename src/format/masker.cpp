#include "format/masker.hpp"

#include <algorithm>
#include <utility>

#include "common/error.hpp"

namespace user_export {

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";
constexpr std::size_t kHexDigestSize = 64;
constexpr std::size_t kShortValueChars = 4;  // values this short are starred entirely

bool is_continuation(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

/// Length in bytes of the UTF-8 character starting at `i`: the sequence length announced by
/// the lead byte when all of its continuation bytes are present, else 1 (an invalid byte is a
/// character of its own, so nothing valid is ever split).
std::size_t char_length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 1;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
  }
  if (n == 1 || i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if (!is_continuation(static_cast<unsigned char>(s[i + k]))) return 1;
  }
  return n;
}

}  // namespace

Masker::Masker(std::vector<MaskMode> modes, std::string hash_key) : modes_(std::move(modes)) {
  const bool hashes = std::find(modes_.begin(), modes_.end(), MaskMode::kHash) != modes_.end();
  if (hashes) {
    if (hash_key.empty()) {
      throw Error(ErrorCode::kConfig,
                  "a CSV column uses mask mode 'hash' but the hash key is empty; set "
                  "USER_EXPORT_HASH_KEY (or hash_key in the config file) to a secret value");
    }
    hmac_.emplace(std::move(hash_key));
  }
}

Masker Masker::for_columns(const std::vector<CsvColumn>& columns, std::string hash_key) {
  std::vector<MaskMode> modes;
  modes.reserve(columns.size());
  for (const auto& c : columns) modes.push_back(c.mask);
  return Masker(std::move(modes), std::move(hash_key));
}

std::optional<std::string_view> Masker::apply(std::size_t column,
                                              std::optional<std::string_view> value) {
  if (column >= modes_.size()) {
    throw Error(ErrorCode::kInternal, "masker asked for column " + std::to_string(column) +
                                          " but was built for " + std::to_string(modes_.size()) +
                                          " columns; build it from the same column list");
  }
  if (!value) return value;
  switch (modes_[column]) {
    case MaskMode::kNone:
      return value;
    case MaskMode::kRedact:
      return kRedacted;
    case MaskMode::kPartial:
      return partial(*value);
    case MaskMode::kHash:
      buffer_.resize(kHexDigestSize);
      hmac_->hex_digest(*value, buffer_.data());
      return std::string_view(buffer_);
  }
  throw Error(ErrorCode::kInternal, "unknown mask mode for column " + std::to_string(column));
}

std::string_view Masker::partial(std::string_view value) {
  buffer_.clear();
  const std::size_t at = value.rfind('@');
  if (at != std::string_view::npos && at > 0 && at + 1 < value.size()) {
    const std::size_t first = std::min(char_length(value, 0), at);
    buffer_.append(value.substr(0, first));
    buffer_.append("***");
    buffer_.append(value.substr(at));
    return buffer_;
  }
  std::size_t chars = 0;
  std::size_t first_len = 0;
  std::size_t last_start = 0;
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t n = char_length(value, i);
    if (chars == 0) first_len = n;
    last_start = i;
    ++chars;
    i += n;
  }
  if (chars <= kShortValueChars) {
    buffer_.assign(chars, '*');
    return buffer_;
  }
  buffer_.append(value.substr(0, first_len));
  buffer_.append(chars - 2, '*');
  buffer_.append(value.substr(last_start));
  return buffer_;
}

}  // namespace user_export
