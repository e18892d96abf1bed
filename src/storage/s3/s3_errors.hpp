#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace user_export {

/// What a request was doing, so an error message can say which credential, bucket or key is at
/// fault and what to do next.
struct S3RequestContext {
  std::string operation;      ///< e.g. `upload part 3 of 24`, `create bucket`
  std::string bucket;         ///< bucket name
  std::string key;            ///< object key; "" for bucket operations
  std::string access_key_id;  ///< the access key id used (never the secret)
  std::string region;         ///< signing region
  std::string endpoint;       ///< endpoint URL, for messages
};

/// Turns an S3 error answer into Error(kStorage), classified:
///   - 401/403 (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, expired or skewed
///     requests): not retriable; the message names the access key id and the variable to fix;
///   - NoSuchBucket and redirects to another region: not retriable; the message names the
///     bucket and the setting to fix;
///   - 400 BadDigest and the other checksum mismatches (s3_checksum_mismatch): retriable; the
///     message says the bytes received did not match their checksum;
///   - 5xx (but 501), 429, 408, and 400 RequestTimeout / 409 OperationAborted: retriable;
///   - anything else: not retriable.
/// `status` is the HTTP status; `body` the response body (may be empty, as for HEAD);
/// `header_code` the `x-amz-error-code` response header when the server sent one;
/// `bucket_region` the `x-amz-bucket-region` header (AWS sends it with every bucket answer): an
/// error answer naming a region other than the signing region says which region to set.
Error s3_http_error(const S3RequestContext& context, long status, std::string_view body,
                    std::string_view header_code = {}, std::string_view bucket_region = {});

/// Whether `code`, an S3 error code, says that the body the server received does not match the
/// checksum the request carried: BadDigest (Content-MD5 or x-amz-checksum-sha256, as AWS and
/// MinIO say it), XAmzContentChecksumMismatch (MinIO, x-amz-checksum-*) or
/// XAmzContentSHA256Mismatch (x-amz-content-sha256).
bool s3_checksum_mismatch(std::string_view code);

/// The Error of an answer for which s3_checksum_mismatch() holds. It is retriable (the export
/// stages the file again and uploads that), but S3Store's request retries do not repeat the
/// request: it would read the same bytes of the same staged file again.
class S3ChecksumMismatch : public Error {
 public:
  explicit S3ChecksumMismatch(const Error& error) : Error(error) {}
};

/// Whether a libcurl result code is a transient transport failure (connection refused or reset,
/// timeout, name resolution, a response cut short) that a later attempt may not meet.
bool s3_transport_retriable(int curl_code);

/// Turns a libcurl failure into Error(kStorage), retriable per s3_transport_retriable; TLS
/// verification failures say to check the CA bundle.
Error s3_transport_error(const S3RequestContext& context, int curl_code,
                         std::string_view curl_message);

/// The non-retriable Error(kStorage) of a request stopped by the shutdown flag (PutRequest::
/// cancel): `S3 {operation} of '{key}' cancelled by shutdown; …`. Nothing is stored under the
/// key; the run keeps its claim and the next start uploads again.
Error s3_cancelled_error(const S3RequestContext& context);

}  // namespace user_export
