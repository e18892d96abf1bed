#include "common/uuid.hpp"

namespace user_export {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid out;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.bytes_[byte++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

Uuid Uuid::random(Random& random) {
  Uuid out;
  std::uint64_t a = random.next_u64();
  std::uint64_t b = random.next_u64();
  for (int i = 0; i < 8; ++i) {
    out.bytes_[i] = static_cast<std::uint8_t>(a >> (8 * i));
    out.bytes_[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  out.bytes_[6] = static_cast<std::uint8_t>((out.bytes_[6] & 0x0f) | 0x40);  // version 4
  out.bytes_[8] = static_cast<std::uint8_t>((out.bytes_[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return out;
}

std::string Uuid::str() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes_[i] >> 4]);
    out.push_back(kHex[bytes_[i] & 0xf]);
  }
  return out;
}

bool Uuid::is_nil() const {
  for (auto b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace user_export
