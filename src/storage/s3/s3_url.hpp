#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace user_export {

/// The bucket and key prefix named by a store URL `s3://bucket/prefix`.
struct S3Location {
  std::string bucket;  ///< bucket name, validated against S3's naming rules
  std::string prefix;  ///< key prefix without leading or trailing slash; "" when none
};

/// Parses `s3://bucket[/prefix]`. Throws Error(kConfig) for another scheme, a missing bucket or
/// a bucket name S3 would refuse (3-63 characters of a-z 0-9 . -, starting and ending with a
/// letter or digit).
S3Location parse_s3_location(std::string_view url);

/// The parts of the endpoint URL the requests are sent to.
struct S3Endpoint {
  std::string scheme;     ///< `http` or `https`
  std::string authority;  ///< `host[:port]` as written (IPv6 literals keep their brackets)
  std::string base_path;  ///< "" or a path such as `/s3`, without trailing slash
};

/// Parses `http(s)://host[:port][/path]`. An empty endpoint means AWS:
/// `https://s3.{region}.amazonaws.com`. Throws Error(kConfig) for anything else.
S3Endpoint parse_s3_endpoint(std::string_view endpoint, std::string_view region);

/// Percent-encodes every byte except the unreserved `A-Z a-z 0-9 - _ . ~` (and `/` when
/// `keep_slash`), with upper-case hex digits: the form SigV4 signs. libcurl 7.88 signs the path
/// and query exactly as given, so every URL must be built with this encoding.
std::string s3_uri_encode(std::string_view text, bool keep_slash);

/// Query parameters of one request, in any order.
using S3Query = std::vector<std::pair<std::string, std::string>>;

/// The canonical SigV4 query string: parameters sorted by name (then value), names and values
/// encoded with s3_uri_encode, `name=` for an empty value (so `?uploads=`, never `?uploads`).
std::string s3_canonical_query(S3Query query);

/// Builds the request URLs of one bucket, path-style (`endpoint/bucket/key`, what MinIO and the
/// test server use) or virtual-host style (`bucket.endpoint/key`, what AWS prefers).
/// Immutable and therefore thread-safe.
class S3Addressing {
 public:
  /// Addresses `bucket` at `endpoint`.
  S3Addressing(S3Endpoint endpoint, std::string bucket, bool path_style);

  /// The bucket's URL with the query appended (canonical form).
  std::string bucket_url(const S3Query& query = {}) const;
  /// The URL of object `key` (encoded, slashes kept) with the query appended (canonical form).
  std::string object_url(std::string_view key, const S3Query& query = {}) const;
  /// The endpoint as `scheme://authority/base`, for messages.
  std::string endpoint_text() const;
  /// The Host header a request to the bucket carries, as libcurl sends it: the endpoint's
  /// authority (`bucket.` before it in virtual-host style), without the scheme's default port
  /// (`:80` for http, `:443` for https) and with any other port.
  std::string host() const;
  /// The path of object `key`'s URL (encoded, slashes kept): `/base/bucket/key` path-style,
  /// `/base/key` virtual-host style. It is the canonical URI a SigV4 signature covers.
  std::string object_path(std::string_view key) const;

 private:
  /// `scheme://host/` part and the path up to and including the bucket segment.
  std::string root() const;
  S3Endpoint endpoint_;
  std::string bucket_;
  bool path_style_;
};

/// The object's URL as consumers see it: `s3://bucket/key` (the key unencoded).
std::string s3_object_uri(std::string_view bucket, std::string_view key);

}  // namespace user_export
