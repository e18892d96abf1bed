#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace user_export {

/// Connection and signing settings of the HTTP client.
struct S3HttpOptions {
  std::string access_key;                           ///< access key id (signs every request)
  std::string secret_key;                           ///< secret access key
  std::string region;                               ///< signing region, e.g. `us-east-1`
  bool verify_tls = true;                           ///< verify the server certificate and host name
  std::string ca_bundle;                            ///< CA file; "" = the system's
  std::chrono::milliseconds connect_timeout{5000};  ///< TCP + TLS connect limit
  std::chrono::milliseconds request_timeout{60000};  ///< limit of one whole request
};

/// A request body streamed from a range of an open file with pread(), so several parts can be
/// sent from one descriptor at the same time. The descriptor is owned by the caller.
struct S3FileBody {
  int fd = -1;               ///< open, readable descriptor
  std::uint64_t offset = 0;  ///< first byte to send
  std::uint64_t length = 0;  ///< bytes to send
};

/// One signed request. Header values must not be empty: libcurl 7.88 would sign an empty header
/// it does not send, so the server's signature would not match. Callers drop empty values;
/// perform() throws Error(kInternal) if one gets through.
struct S3HttpRequest {
  std::string method;  ///< GET, HEAD, PUT, POST or DELETE
  std::string url;     ///< full URL, path and query already in canonical form
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  std::string body;                ///< in-memory body (small XML documents)
  std::optional<S3FileBody> file;  ///< streamed body; takes precedence over `body`
  /// Optional cancel flag (owned by the caller): perform() polls it from libcurl's progress
  /// callback (at least once a second, also while waiting for the answer) and stops the
  /// transfer once it reads true. Null = never cancelled.
  const std::atomic<bool>* cancel = nullptr;
  /// Limit of this whole request; 0 = the client's request_timeout.
  std::chrono::milliseconds timeout{0};
  /// Optional: receives the body of a 2xx answer as it arrives, instead of `response.body`
  /// (a GET of an object, read without holding it). An exception it throws stops the transfer
  /// and is rethrown by perform(). Other answers' bodies (error documents) are kept as usual.
  std::function<void(std::string_view)> on_body{};
};

/// What the server answered.
struct S3HttpResponse {
  long status = 0;                             ///< HTTP status of the final response (never 100)
  std::map<std::string, std::string> headers;  ///< header names in lower case
  std::string body;  ///< the body, cut at 8 MiB (S3 answers with small XML documents)

  /// The header's value, or "" when absent.
  std::string header(const std::string& lower_case_name) const;
};

/// The outcome of perform(): either a response or a transport failure.
struct S3HttpResult {
  int curl_code = 0;                ///< CURLE_OK (0) when `response` is valid
  std::string curl_message;         ///< libcurl's error text for a failure
  bool body_read_failed = false;    ///< the file body could not be read (short file, I/O error)
  std::string body_read_error;      ///< why, when body_read_failed
  bool cancelled = false;           ///< the request's cancel flag stopped the transfer
  std::uint64_t body_streamed = 0;  ///< bytes handed to the request's on_body
  S3HttpResponse response;          ///< valid when curl_code == 0
};

/// Sends SigV4-signed requests with libcurl (its built-in CURLOPT_AWS_SIGV4). Works around the
/// signing quirks of libcurl 7.88: `x-amz-content-sha256` is always sent (the SHA-256 of an
/// in-memory body, `UNSIGNED-PAYLOAD` for a streamed file), and callers pass URLs whose path and
/// query are already canonical (see s3_url.hpp). Keeps idle easy handles so connections are
/// reused. Thread-safe: each perform() uses its own handle.
class S3HttpClient {
 public:
  /// A client with the given credentials and limits; initialises libcurl once per process.
  explicit S3HttpClient(S3HttpOptions options);
  ~S3HttpClient();
  S3HttpClient(const S3HttpClient&) = delete;
  S3HttpClient& operator=(const S3HttpClient&) = delete;

  /// Sends one request and waits for the answer. Does not throw for HTTP or transport errors:
  /// the caller classifies the result.
  S3HttpResult perform(const S3HttpRequest& request);

 private:
  /// An idle handle (connections stay cached in it), or a new one.
  void* acquire();
  /// Returns a handle to the idle list.
  void release(void* handle);

  S3HttpOptions options_;
  std::string sigv4_;  ///< `aws:amz:{region}:s3`
  std::mutex mu_;
  std::vector<void*> idle_;
};

/// Lower-case hex SHA-256 of `data` (the payload hash of an in-memory body).
std::string sha256_hex(std::string_view data);

}  // namespace user_export
