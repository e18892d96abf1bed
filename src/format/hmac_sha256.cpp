#include "format/hmac_sha256.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <utility>

#include "common/error.hpp"

namespace user_export {

/// Owns the fetched MAC algorithm and its keyed context.
struct HmacSha256::Ctx {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~Ctx() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

namespace {

[[noreturn]] void openssl_failed(const char* what) {
  throw Error(ErrorCode::kInternal,
              std::string("OpenSSL HMAC-SHA-256 failed (") + what +
                  "); check that the OpenSSL default provider is installed and loadable");
}

}  // namespace

std::unique_ptr<HmacSha256::Ctx> HmacSha256::make_ctx(const std::string& key) {
  auto c = std::make_unique<HmacSha256::Ctx>();
  c->mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (c->mac == nullptr) openssl_failed("EVP_MAC_fetch");
  c->ctx = EVP_MAC_CTX_new(c->mac);
  if (c->ctx == nullptr) openssl_failed("EVP_MAC_CTX_new");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // OpenSSL rejects a NULL key pointer even when its length is zero, so an empty key is
  // passed as a pointer to an empty string.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(c->ctx, key_bytes, key.size(), params) != 1) openssl_failed("EVP_MAC_init");
  return c;
}

HmacSha256::HmacSha256(std::string key) : key_(std::move(key)), ctx_(make_ctx(key_)) {}

HmacSha256::~HmacSha256() = default;

HmacSha256::HmacSha256(const HmacSha256& other) : key_(other.key_), ctx_(make_ctx(key_)) {}

HmacSha256& HmacSha256::operator=(const HmacSha256& other) {
  if (this != &other) {
    auto ctx = make_ctx(other.key_);
    key_ = other.key_;
    ctx_ = std::move(ctx);
  }
  return *this;
}

HmacSha256::HmacSha256(HmacSha256&& other) noexcept = default;
HmacSha256& HmacSha256::operator=(HmacSha256&& other) noexcept = default;

HmacSha256::Digest HmacSha256::digest(std::string_view data) {
  if (!ctx_) ctx_ = make_ctx(key_);  // a moved-from instance becomes usable again
  // Re-initialising without a key restarts the MAC with the key schedule computed at
  // construction, which avoids fetching the algorithm for every value.
  if (EVP_MAC_init(ctx_->ctx, nullptr, 0, nullptr) != 1) openssl_failed("EVP_MAC_init");
  if (EVP_MAC_update(ctx_->ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
      1) {
    openssl_failed("EVP_MAC_update");
  }
  Digest out{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx_->ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    openssl_failed("EVP_MAC_final");
  }
  return out;
}

void HmacSha256::hex_digest(std::string_view data, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const Digest d = digest(data);
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 0xf];
  }
}

}  // namespace user_export
