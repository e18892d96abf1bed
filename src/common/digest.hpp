#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace user_export {

/// An incremental digest (OpenSSL EVP): SHA-256 for files and messages, MD5 for the
/// Content-MD5 of S3 requests. Not thread-safe; one per stream of bytes.
class Digest {
 public:
  enum class Kind { kSha256, kMd5 };
  explicit Digest(Kind kind = Kind::kSha256);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// The raw digest bytes; the digest cannot be updated afterwards.
  std::string finish();

 private:
  void* ctx_;
};

/// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);
/// Standard base64 (with padding) of `bytes`.
std::string to_base64(std::string_view bytes);
/// The raw bytes of lower-case or upper-case hex text; throws Error(kInvalidInput) for anything
/// else.
std::string from_hex(std::string_view hex);

/// Size and SHA-256 of what the open descriptor `fd` holds, read with pread from offset 0 (the
/// file offset is not moved). Throws Error(kIo) naming `what` when it cannot be read.
struct FdDigest {
  std::int64_t bytes = 0;
  std::string sha256;  ///< lower-case hex
};
FdDigest sha256_of_fd(int fd, std::string_view what);

}  // namespace user_export
