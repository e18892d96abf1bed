#include "storage/s3/s3_presign.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "storage/s3/s3_http.hpp"

namespace user_export {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "s3";

/// The raw HMAC-SHA-256 of `data` keyed with `key`.
std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &length) == nullptr) {
    throw Error(ErrorCode::kInternal, "OpenSSL HMAC-SHA-256 failed while presigning an S3 URL");
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

}  // namespace

std::string sigv4_timestamp(SystemTime t) {
  const std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

S3Presigner::S3Presigner(S3Addressing addressing, S3SigningCredentials credentials,
                         std::string region, std::chrono::seconds expires, const Clock& clock)
    : addressing_(std::move(addressing)),
      credentials_(std::move(credentials)),
      region_(std::move(region)),
      expires_(expires),
      clock_(clock) {
  if (credentials_.access_key.empty() || credentials_.secret_key.empty()) {
    throw Error(ErrorCode::kConfig,
                "presigned S3 URLs need credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY");
  }
  if (region_.empty()) {
    throw Error(ErrorCode::kConfig, "presigned S3 URLs need a signing region");
  }
  if (expires_.count() < 1 || expires_ > kS3MaxPresignExpiry) {
    throw Error(ErrorCode::kConfig,
                "a presigned S3 URL is valid for 1 to 604800 seconds (7 "
                "days), not " +
                    std::to_string(expires_.count()));
  }
}

S3PresignedGet S3Presigner::presign_get(std::string_view key) const {
  return presign_get(key, clock_.now());
}

S3PresignedGet S3Presigner::presign_get(std::string_view key, SystemTime at) const {
  const std::string timestamp = sigv4_timestamp(at);
  const std::string date = timestamp.substr(0, 8);
  const std::string scope = date + "/" + region_ + "/" + std::string(kService) + "/aws4_request";

  S3Query query = {{"X-Amz-Algorithm", std::string(kAlgorithm)},
                   {"X-Amz-Credential", credentials_.access_key + "/" + scope},
                   {"X-Amz-Date", timestamp},
                   {"X-Amz-Expires", std::to_string(expires_.count())},
                   {"X-Amz-SignedHeaders", "host"}};
  if (!credentials_.session_token.empty()) {
    query.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  const std::string canonical_query = s3_canonical_query(query);

  S3PresignedGet result;
  result.canonical_request = "GET\n" + addressing_.object_path(key) + "\n" + canonical_query +
                             "\nhost:" + addressing_.host() + "\n\nhost\nUNSIGNED-PAYLOAD";
  result.string_to_sign = std::string(kAlgorithm) + "\n" + timestamp + "\n" + scope + "\n" +
                          sha256_hex(result.canonical_request);

  std::string signing_key = hmac_sha256("AWS4" + credentials_.secret_key, date);
  signing_key = hmac_sha256(signing_key, region_);
  signing_key = hmac_sha256(signing_key, kService);
  signing_key = hmac_sha256(signing_key, "aws4_request");
  result.signature = to_hex(hmac_sha256(signing_key, result.string_to_sign));

  // The store's own object URL, so the download goes where the upload went.
  result.url =
      addressing_.object_url(key) + "?" + canonical_query + "&X-Amz-Signature=" + result.signature;
  return result;
}

}  // namespace user_export
