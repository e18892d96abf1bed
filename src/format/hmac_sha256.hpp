#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace user_export {

/// HMAC-SHA-256 (RFC 2104) with a fixed key, backed by OpenSSL's EVP_MAC. The key schedule is
/// computed once; each digest() only re-initialises the MAC. Copying makes an independent
/// instance with the same key. Thread-compatible: one instance per thread.
class HmacSha256 {
 public:
  /// The 32-byte MAC.
  using Digest = std::array<std::uint8_t, 32>;

  /// Prepares the MAC for `key` (which may be empty). Throws Error(kInternal) if OpenSSL
  /// cannot provide HMAC-SHA-256.
  explicit HmacSha256(std::string key);
  ~HmacSha256();
  /// Makes an independent instance with the same key.
  HmacSha256(const HmacSha256& other);
  /// Replaces this instance's key with `other`'s.
  HmacSha256& operator=(const HmacSha256& other);
  /// Moves the OpenSSL state.
  HmacSha256(HmacSha256&& other) noexcept;
  /// Moves the OpenSSL state.
  HmacSha256& operator=(HmacSha256&& other) noexcept;

  /// The MAC of `data`.
  Digest digest(std::string_view data);
  /// The MAC of `data` as 64 lower-case hex characters written to `out` (which must hold 64).
  void hex_digest(std::string_view data, char* out);

 private:
  struct Ctx;
  static std::unique_ptr<Ctx> make_ctx(const std::string& key);

  std::string key_;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace user_export
