#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "storage/s3/s3_url.hpp"

namespace user_export {

/// SigV4 allows a presigned URL to be valid for at most 7 days.
inline constexpr std::chrono::seconds kS3MaxPresignExpiry{7 * 24 * 3600};

/// The credentials a presigned URL is signed with. Only the access key id (and the session
/// token, when there is one) appear in the URL; the secret only keys the signature.
struct S3SigningCredentials {
  std::string access_key;     ///< access key id, named in X-Amz-Credential
  std::string secret_key;     ///< secret access key; never part of the URL
  std::string session_token;  ///< temporary credentials' token (X-Amz-Security-Token); "" = none
};

/// A presigned GET and the texts its signature was computed from (for tests and debugging).
struct S3PresignedGet {
  std::string url;                ///< the whole URL, X-Amz-Signature last
  std::string canonical_request;  ///< SigV4's canonical request
  std::string string_to_sign;     ///< SigV4's string to sign
  std::string signature;          ///< 64 lower-case hex digits
};

/// Signs GET URLs of one bucket's objects with SigV4 query parameters (a presigned URL), so
/// whoever holds the URL can download the object until it expires without credentials of
/// their own (docs/S3.md, "Presigned downloads"). The URL is the one the store's own requests
/// use (S3Addressing: same endpoint, path-style or virtual-host style, same key encoding); the
/// signature covers the host header only (`X-Amz-SignedHeaders=host`) and an unsigned payload.
/// Immutable and therefore thread-safe.
class S3Presigner {
 public:
  /// Signs for `region` with `credentials`, each URL valid for `expires` after the time
  /// `clock` reads when it is signed. Throws Error(kConfig) for missing credentials or region,
  /// or an `expires` outside 1 s..7 days (SigV4's limits).
  S3Presigner(S3Addressing addressing, S3SigningCredentials credentials, std::string region,
              std::chrono::seconds expires, const Clock& clock);

  /// A GET URL of object `key` signed now.
  S3PresignedGet presign_get(std::string_view key) const;
  /// A GET URL of object `key` signed at `at` (valid from then until `at` + expires).
  S3PresignedGet presign_get(std::string_view key, SystemTime at) const;

 private:
  S3Addressing addressing_;
  S3SigningCredentials credentials_;
  std::string region_;
  std::chrono::seconds expires_;
  const Clock& clock_;
};

/// `t` in SigV4's basic ISO 8601 form, `20130524T000000Z` (UTC, whole seconds).
std::string sigv4_timestamp(SystemTime t);

}  // namespace user_export
