#include "storage/s3/s3_errors.hpp"

#include <curl/curl.h>

#include <optional>
#include <string>

#include "storage/s3/s3_xml.hpp"

namespace user_export {
namespace {

std::string where(const S3RequestContext& c) {
  std::string text = "S3 " + c.operation;
  if (!c.key.empty()) text += " of '" + c.key + "'";
  text += " in bucket '" + c.bucket + "' at " + c.endpoint + " failed: ";
  return text;
}

Error storage(const S3RequestContext& c, const std::string& what, bool retriable) {
  return Error(ErrorCode::kStorage, where(c) + what, retriable);
}

std::string server_said(long status, const std::string& code, const std::string& message) {
  std::string text = "HTTP " + std::to_string(status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += " (" + message + ")";
  return text;
}

/// Refusals of the credentials, the signature or the key's permissions; nullopt otherwise.
std::optional<Error> credentials_error(const S3RequestContext& c, long status,
                                       const std::string& code, std::string_view body,
                                       const std::string& said) {
  const std::string key = "'" + c.access_key_id + "'";
  if (code == "InvalidAccessKeyId") {
    return storage(c,
                   "the server does not know access key id " + key + " (" + said +
                       "); check AWS_ACCESS_KEY_ID",
                   false);
  }
  if (code == "SignatureDoesNotMatch") {
    return storage(c,
                   "the secret key is wrong for access key id " + key + " (" + said +
                       "); check AWS_SECRET_ACCESS_KEY and the region '" + c.region + "'",
                   false);
  }
  if (code == "AuthorizationHeaderMalformed") {
    const std::string region = xml_text(body, "Region").value_or("");
    return storage(c,
                   "the server refused the signing region '" + c.region + "'" +
                       (region.empty() ? "" : " (it expects '" + region + "')") + " (" + said +
                       "); set USER_EXPORT_S3_REGION to the bucket's region",
                   false);
  }
  if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    return storage(c,
                   "the credentials of access key id " + key + " have expired (" + said +
                       "); renew AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                   false);
  }
  if (code == "RequestTimeTooSkewed") {
    return storage(c,
                   "this machine's clock differs from the server's by more than 15 minutes (" +
                       said + "); synchronise the clock",
                   false);
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || status == 401 || status == 403) {
    return storage(c,
                   "access key id " + key + " may not " + c.operation + " in bucket '" + c.bucket +
                       "' (" + said +
                       "); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and grant the key "
                       "s3:ListBucket, s3:CreateBucket, s3:PutObject, s3:AbortMultipartUpload and "
                       "s3:ListBucketMultipartUploads on the bucket",
                   false);
  }
  return std::nullopt;
}

/// The bucket is in another region than the configured one, as the server's
/// x-amz-bucket-region says; nullopt otherwise. It explains a 400 or 403 better than the error
/// code does, so it is checked first.
std::optional<Error> region_error(const S3RequestContext& c, long status, const std::string& said,
                                  std::string_view bucket_region) {
  if (!bucket_region.empty() && bucket_region != c.region &&
      (status == 301 || status == 307 || status == 400 || status == 403)) {
    return storage(c,
                   "bucket '" + c.bucket + "' is in region '" + std::string(bucket_region) +
                       "', not '" + c.region + "' (" + said +
                       "); set USER_EXPORT_S3_REGION=" + std::string(bucket_region),
                   false);
  }

  return std::nullopt;
}

/// The bucket is not served here (another endpoint or region) or does not exist; nullopt
/// otherwise.
std::optional<Error> location_error(const S3RequestContext& c, long status, const std::string& code,
                                    const std::string& said) {
  if (code == "NoSuchBucket") {
    return storage(c,
                   "bucket '" + c.bucket + "' does not exist (" + said +
                       "); create it or fix the bucket in the store URL (USER_EXPORT_STORE_URL)",
                   false);
  }
  if (code == "PermanentRedirect" || code == "AuthorizationQueryParametersError" || status == 301 ||
      status == 307) {
    return storage(c,
                   "bucket '" + c.bucket + "' is not served by this endpoint and region '" +
                       c.region + "' (" + said +
                       "); set USER_EXPORT_S3_REGION and USER_EXPORT_S3_ENDPOINT to the bucket's "
                       "region",
                   false);
  }
  return std::nullopt;
}

}  // namespace

Error s3_http_error(const S3RequestContext& c, long status, std::string_view body,
                    std::string_view header_code, std::string_view bucket_region) {
  std::string code = xml_text(body, "Code").value_or(std::string(header_code));
  const std::string message = xml_text(body, "Message").value_or("");
  const std::string said = server_said(status, code, message);
  if (auto e = region_error(c, status, said, bucket_region)) return *e;
  if (auto e = credentials_error(c, status, code, body, said)) return *e;
  if (auto e = location_error(c, status, code, said)) return *e;
  if (s3_checksum_mismatch(code)) {
    return storage(c,
                   "the bytes the server received did not match their checksum (" + said +
                       "): the staged file changed while it was uploaded or the bytes were "
                       "damaged on the way; the server kept none of them, and the export stages "
                       "the file again and retries",
                   true);
  }
  if (code == "NoSuchUpload") {
    return storage(c,
                   "the multipart upload disappeared while it ran (" + said +
                       "); something aborted it (a lifecycle rule, or a stale-upload clean-up "
                       "with too short an age); the next attempt starts a new upload",
                   false);
  }
  if (status == 501 || code == "NotImplemented") {
    return storage(c, "the server does not implement this request (" + said + ")", false);
  }
  const bool retriable = status >= 500 || status == 429 || status == 408 ||
                         code == "RequestTimeout" || code == "SlowDown" ||
                         code == "OperationAborted" || code == "InternalError";
  if (retriable) {
    return storage(
        c, "the server is unavailable or overloaded (" + said + "); a later attempt may succeed",
        true);
  }
  return storage(c,
                 "the server rejected the request (" + said +
                     "); this is a client bug or an unsupported server: report it with this "
                     "message",
                 false);
}

bool s3_checksum_mismatch(std::string_view code) {
  return code == "BadDigest" || code == "XAmzContentChecksumMismatch" ||
         code == "XAmzContentSHA256Mismatch";
}

bool s3_transport_retriable(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_AGAIN:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

Error s3_transport_error(const S3RequestContext& c, int curl_code, std::string_view curl_message) {
  const auto code = static_cast<CURLcode>(curl_code);
  std::string detail = curl_easy_strerror(code);
  if (!curl_message.empty() && curl_message != detail) detail += ": " + std::string(curl_message);
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
      code == CURLE_SSL_CERTPROBLEM) {
    return storage(c,
                   "the endpoint's TLS certificate could not be verified (" + detail +
                       "); set the store's CA bundle to the certificate authority that signed it",
                   false);
  }
  if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
    return storage(
        c, "the endpoint URL is not usable (" + detail + "); fix USER_EXPORT_S3_ENDPOINT", false);
  }
  if (s3_transport_retriable(curl_code)) {
    return storage(c, "the connection failed (" + detail + "); a later attempt may succeed", true);
  }
  return storage(c, "the transfer failed (" + detail + ")", false);
}

Error s3_cancelled_error(const S3RequestContext& context) {
  return Error(ErrorCode::kStorage,
               "S3 " + context.operation + " of '" + context.key + "' in bucket '" +
                   context.bucket +
                   "' cancelled by shutdown; nothing is stored under the key, the claim is kept "
                   "and the next start uploads it again",
               false);
}

}  // namespace user_export
