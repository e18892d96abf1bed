#include "storage/s3/s3_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_streaming_upload.hpp"
#include "storage/s3/s3_xml.hpp"

namespace user_export {
namespace {

constexpr std::size_t kMaxKeyBytes = 1024;

void inc(Counter* counter, double by = 1.0) {
  if (counter != nullptr) counter->inc(by);
}

/// Closes a descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

S3HttpOptions http_options(const StoreConfig& c) {
  S3HttpOptions o;
  o.access_key = c.access_key;
  o.secret_key = c.secret_key;
  o.region = c.s3_region;
  o.verify_tls = c.verify_tls;
  o.ca_bundle = c.ca_bundle;
  o.connect_timeout = c.connect_timeout;
  o.request_timeout = c.request_timeout;
  return o;
}

void check_config(const StoreConfig& c) {
  if (c.access_key.empty() || c.secret_key.empty()) {
    throw Error(ErrorCode::kConfig,
                "the S3 store needs credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY");
  }
  if (c.s3_region.empty()) {
    throw Error(ErrorCode::kConfig,
                "the S3 store needs a signing region: set USER_EXPORT_S3_REGION (e.g. "
                "us-east-1)");
  }
  if (c.part_size < kS3MinPartSize) {
    throw Error(ErrorCode::kConfig, "S3 part size " + std::to_string(c.part_size) +
                                        " is below S3's minimum of 5 MiB (5242880 bytes)");
  }
  if (c.parallel_parts < 1) {
    throw Error(ErrorCode::kConfig, "S3 parallel_parts must be at least 1");
  }
  if (c.connect_timeout.count() <= 0 || c.request_timeout.count() <= 0) {
    throw Error(ErrorCode::kConfig, "S3 connect and request timeouts must be positive");
  }
  if (c.presign.count() < 0 || c.presign > kS3MaxPresignExpiry) {
    throw Error(ErrorCode::kConfig,
                "store.s3.presign_seconds must be between 0 and 604800 "
                "(7 days, SigV4's limit), not " +
                    std::to_string(c.presign.count()));
  }
}

}  // namespace

S3Store::S3Store(const StoreConfig& config, S3StoreOptions options, Metrics* metrics,
                 Sleeper& sleeper, Random& random)
    : config_((check_config(config), config)),
      location_(parse_s3_location(config.url)),
      addressing_(parse_s3_endpoint(config.s3_endpoint, config.s3_region), location_.bucket,
                  config.s3_path_style),
      http_(http_options(config)),
      random_(random),
      retry_(options.request_retry, sleeper, random_),
      max_attempts_(std::max(1, options.request_retry.max_attempts)),
      clock_(options.clock != nullptr ? *options.clock : system_clock_) {
  if (config.presign.count() > 0) {
    presigner_.emplace(addressing_,
                       S3SigningCredentials{config.access_key, config.secret_key, std::string()},
                       config.s3_region, config.presign, clock_);
  }
  if (metrics != nullptr) {
    meters_.uploads = &metrics->counter(meters::kS3Uploads);
    meters_.bytes = &metrics->counter(meters::kS3UploadBytes);
    meters_.retries = &metrics->counter(meters::kS3Retries);
    meters_.failures = &metrics->counter(meters::kS3Failures);
    meters_.aborted = &metrics->counter(meters::kS3AbortedUploads);
    meters_.abort_failures = &metrics->counter(meters::kS3AbortFailures);
    meters_.duration = &metrics->histogram(meters::kS3UploadDuration);
  }
}

S3Store::~S3Store() = default;

std::string S3Store::key_prefix() const {
  return location_.prefix;
}

std::optional<std::string> S3Store::download_url(const std::string& key) const {
  if (!presigner_) return std::nullopt;
  return presigner_->presign_get(key).url;
}

S3RequestContext S3Store::context(std::string operation, std::string key) const {
  return S3RequestContext{std::move(operation), location_.bucket,  std::move(key),
                          config_.access_key,   config_.s3_region, addressing_.endpoint_text()};
}

S3HttpResponse S3Store::send(const S3HttpRequest& request, const S3RequestContext& ctx,
                             const std::vector<long>& accepted) {
  if (request.cancel != nullptr && request.cancel->load()) throw s3_cancelled_error(ctx);
  S3HttpResult result = http_.perform(request);
  if (result.cancelled) throw s3_cancelled_error(ctx);
  if (result.body_read_failed) {
    throw Error(ErrorCode::kIo,
                "S3 " + ctx.operation + " of '" + ctx.key +
                    "' could not read the staged file: " + result.body_read_error,
                false);
  }
  if (result.curl_code != 0) throw s3_transport_error(ctx, result.curl_code, result.curl_message);
  const long status = result.response.status;
  const bool ok = (status >= 200 && status < 300) ||
                  std::find(accepted.begin(), accepted.end(), status) != accepted.end();
  if (!ok) {
    const std::string header_code = result.response.header("x-amz-error-code");
    Error error = s3_http_error(ctx, status, result.response.body, header_code,
                                result.response.header("x-amz-bucket-region"));
    if (s3_checksum_mismatch(xml_text(result.response.body, "Code").value_or(header_code))) {
      throw S3ChecksumMismatch(error);
    }
    throw error;
  }
  return std::move(result.response);
}

void S3Store::note_retry(int attempt, const std::exception& error, Duration delay) {
  inc(meters_.retries);
  spdlog::warn("S3 request failed, retrying attempt={} delay_ms={} error=\"{}\"", attempt,
               std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(), error.what());
}

S3HttpResponse S3Store::send_with_retry(const S3HttpRequest& request, const S3RequestContext& ctx,
                                        const std::vector<long>& accepted,
                                        const std::atomic<bool>* cancelled) {
  return with_retry([&] { return send(request, ctx, accepted); }, cancelled);
}

void S3Store::ensure_ready() {
  std::lock_guard lock(ready_mu_);
  if (ready_) return;
  try {
    const auto ctx = context("bucket check");
    const auto head = send_with_retry(S3HttpRequest{"HEAD", addressing_.bucket_url(), {}, {}, {}},
                                      ctx, {401, 403, 404});
    if (head.status == 401 || head.status == 403) {
      // A HEAD answer has no error document to tell a wrong secret from a missing permission;
      // a GET of the bucket's location is refused for the same reason and says which.
      const std::string code = head.header("x-amz-error-code");
      if (code.empty()) {
        send(S3HttpRequest{"GET", addressing_.bucket_url({{"location", ""}}), {}, {}, {}}, ctx);
      }
      throw s3_http_error(ctx, head.status, "", code, head.header("x-amz-bucket-region"));
    }
    if (head.status == 404) create_bucket();
  } catch (const Error&) {
    inc(meters_.failures);
    throw;
  }
  if (config_.abort_incomplete_after.count() > 0) abort_stale_uploads();
  ready_ = true;
}

void S3Store::create_bucket() {
  const auto ctx = context("create bucket");
  S3HttpRequest request{"PUT", addressing_.bucket_url(), {}, {}, {}};
  if (config_.s3_region != "us-east-1") {
    request.body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        xml_escape(config_.s3_region) + "</LocationConstraint></CreateBucketConfiguration>";
    request.headers.emplace_back("Content-Type", "application/xml");
  }
  const auto created = send_with_retry(request, ctx, {409});
  if (created.status != 409) {
    spdlog::info("created S3 bucket bucket={} endpoint={}", location_.bucket,
                 addressing_.endpoint_text());
    return;
  }
  const std::string code =
      xml_text(created.body, "Code").value_or(created.header("x-amz-error-code"));
  if (code == "BucketAlreadyOwnedByYou") return;
  if (code != "BucketAlreadyExists") throw s3_http_error(ctx, created.status, created.body, code);
  // Another instance created it between our HEAD and PUT (some servers answer
  // BucketAlreadyExists even to the owner), or another account owns the name: only a second
  // HEAD tells which.
  try {
    send_with_retry(S3HttpRequest{"HEAD", addressing_.bucket_url(), {}, {}, {}},
                    context("bucket check after concurrent creation"));
  } catch (const Error& e) {
    if (e.retriable()) throw;
    throw Error(ErrorCode::kStorage,
                "S3 bucket '" + location_.bucket + "' at " + addressing_.endpoint_text() +
                    " exists but access key id '" + config_.access_key +
                    "' cannot use it (another account may own the name): choose another bucket "
                    "in the store URL or use that account's credentials. " +
                    e.what(),
                false);
  }
}

void S3Store::check_request(const PutRequest& request) const {
  if (request.key.empty() || request.key.size() > kMaxKeyBytes) {
    throw Error(ErrorCode::kStorage,
                "S3 object key '" + request.key + "' must be 1 to 1024 bytes long", false);
  }
  if (!request.sha256.empty() &&
      (request.sha256.size() != 64 ||
       request.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    throw Error(ErrorCode::kInternal, "the SHA-256 given for S3 object '" + request.key + "' ('" +
                                          request.sha256 +
                                          "') is not 64 lower-case hex digits; pass the digest "
                                          "the staged file's writer computed");
  }
}

StoredObject S3Store::put(const PutRequest& request) {
  check_request(request);
  const bool verify = !request.sha256.empty();
  ensure_ready();
  const S3Headers headers = s3_object_headers(request.content_type, request.metadata);
  // The caller's descriptor when it gives one: the bytes its writer produced, whatever happened
  // to the path since.
  const FileDescriptor opened(request.fd >= 0 ? -1
                                              : ::open(request.file.c_str(), O_RDONLY | O_CLOEXEC));
  const int fd = request.fd >= 0 ? request.fd : opened.get();
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    throw Error(ErrorCode::kIo, std::string(request.fd >= 0 ? "cannot read" : "cannot open") +
                                    " the staged file '" + request.file.string() +
                                    "' for upload: " + std::strerror(errno));
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  const auto started = std::chrono::steady_clock::now();
  try {
    if (verify && request.bytes >= 0 && size != static_cast<std::uint64_t>(request.bytes)) {
      throw Error(ErrorCode::kStorage,
                  "the staged file '" + request.file.string() + "' holds " + std::to_string(size) +
                      " bytes but its writer wrote " + std::to_string(request.bytes) +
                      ": it changed after it was written; nothing was uploaded under '" +
                      request.key + "', and the export stages the file again",
                  true);
    }
    if (size <= config_.multipart_threshold) {
      S3Headers put_headers = headers;
      if (verify) {  // the server refuses a body whose SHA-256 is not this one
        put_headers.emplace_back("x-amz-checksum-sha256", to_base64(from_hex(request.sha256)));
      }
      put_single(request.key, put_headers, fd, size, request.cancel);
    } else {
      put_multipart(request, headers, fd, size);
    }
    if (verify) check_stored_size(request.key, size);
  } catch (const Error& e) {
    note_failed_upload(request, size, e);
    throw;
  }
  return note_uploaded(request, size, started);
}

void S3Store::note_failed_upload(const PutRequest& request, std::uint64_t size, const Error& e) {
  if (request.cancel != nullptr && request.cancel->load()) {
    // Not a storage failure: the process is shutting down, or the attempt lost its lease.
    log::warn(
        "S3 upload stopped by its cancel flag (shutdown or a lost lease)",
        {{"bucket", location_.bucket}, {"key", request.key}, {"bytes", size}, {"error", e.what()}});
    return;
  }
  inc(meters_.failures);
  spdlog::error("S3 upload failed bucket={} key={} bytes={}: {}", location_.bucket, request.key,
                size, e.what());
}

StoredObject S3Store::note_uploaded(const PutRequest& request, std::uint64_t size,
                                    std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  inc(meters_.uploads);
  inc(meters_.bytes, static_cast<double>(size));
  if (meters_.duration != nullptr) meters_.duration->observe(seconds);
  return StoredObject{location_.bucket, request.key, s3_object_uri(location_.bucket, request.key),
                      static_cast<std::int64_t>(size), request.sha256};
}

std::unique_ptr<StreamingUpload> S3Store::begin_upload(const PutRequest& request) {
  return std::make_unique<S3StreamingUpload>(*this, request);
}

void S3Store::check_stored_size(const std::string& key, std::uint64_t size) {
  const auto ctx = context("check of uploaded object", key);
  const auto head =
      send_with_retry(S3HttpRequest{"HEAD", addressing_.object_url(key), {}, {}, {}}, ctx, {404});
  const std::string length = head.status == 404 ? std::string() : head.header("content-length");
  if (!length.empty() && length == std::to_string(size)) return;
  const std::string found = head.status == 404 ? "no object"
                            : length.empty()   ? "an object without a Content-Length"
                                               : "an object of " + length + " bytes";
  std::string removed = "it was removed";
  try {
    remove(key);
  } catch (const Error& e) {
    removed = std::string("it could not be removed (") + e.what() + ")";
  }
  throw Error(ErrorCode::kStorage,
              "S3 object '" + key + "' in bucket '" + location_.bucket + "' at " + ctx.endpoint +
                  " should hold the " + std::to_string(size) +
                  " bytes of the staged file after its upload but the server reports " + found +
                  "; " + removed + ", and the export uploads the file again",
              true);
}

void S3Store::remove(const std::string& key) {
  ensure_ready();
  send_with_retry(S3HttpRequest{"DELETE", addressing_.object_url(key), {}, {}, {}},
                  context("delete", key), {404});
}

void S3Store::put_single(const std::string& key, const S3Headers& headers, int fd,
                         std::uint64_t size, const std::atomic<bool>* cancel) {
  S3HttpRequest request{"PUT", addressing_.object_url(key), headers, {}, S3FileBody{fd, 0, size}};
  request.cancel = cancel;
  send_with_retry(request, context("upload", key));
}

}  // namespace user_export

namespace user_export {

std::unique_ptr<ObjectStore> make_s3_store(const StoreConfig& config, Metrics* metrics,
                                           Sleeper& sleeper, Random& random) {
  return std::make_unique<S3Store>(config, S3StoreOptions{}, metrics, sleeper, random);
}

}  // namespace user_export
