#include "common/digest.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace user_export {

Digest::Digest(Kind kind) : ctx_(EVP_MD_CTX_new()) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  const EVP_MD* md = kind == Kind::kSha256 ? EVP_sha256() : EVP_md5();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw Error(ErrorCode::kInternal, "cannot initialise a digest (OpenSSL)");
  }
}

Digest::~Digest() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Digest::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size) != 1) {
    throw Error(ErrorCode::kInternal, "digest update failed (OpenSSL)");
  }
}

std::string Digest::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &length) != 1) {
    throw Error(ErrorCode::kInternal, "digest final failed (OpenSSL)");
  }
  return std::string(reinterpret_cast<const char*>(md), length);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string from_hex(std::string_view hex) {
  auto value = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw Error(ErrorCode::kInvalidInput, "'" + std::string(hex) + "' is not hexadecimal");
  };
  if (hex.size() % 2 != 0) {
    throw Error(ErrorCode::kInvalidInput, "'" + std::string(hex) + "' has an odd length");
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1])));
  }
  return out;
}

FdDigest sha256_of_fd(int fd, std::string_view what) {
  Digest sha;
  FdDigest result;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), result.bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kIo,
                  "cannot read " + std::string(what) + " to check it: " + std::strerror(errno));
    }
    if (n == 0) break;
    sha.update(buffer.data(), static_cast<std::size_t>(n));
    result.bytes += n;
  }
  result.sha256 = to_hex(sha.finish());
  return result;
}

}  // namespace user_export
