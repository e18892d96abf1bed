#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "resilience/retry.hpp"
#include "storage/object_store.hpp"
#include "storage/s3/locked_random.hpp"
#include "storage/s3/s3_errors.hpp"
#include "storage/s3/s3_headers.hpp"
#include "storage/s3/s3_http.hpp"
#include "storage/s3/s3_multipart.hpp"
#include "storage/s3/s3_presign.hpp"
#include "storage/s3/s3_url.hpp"

namespace user_export {

class Counter;
class Histogram;
class Metrics;

/// Settings of the S3 store that the configuration file does not carry.
struct S3StoreOptions {
  /// Retries of each single request (a PUT, one part, the start, completion or abort of a
  /// multipart upload); the run as a whole is retried by the caller on top of this.
  RetryConfig request_retry{5, std::chrono::milliseconds{200}, 2.0, std::chrono::seconds{5}, 0.2};
  /// The clock the age of stale multipart uploads is measured with and presigned URLs are
  /// signed at; nullptr = the system clock.
  const Clock* clock = nullptr;
};

/// The S3 / MinIO object store (the spec's MinioUploadService), on libcurl with its built-in
/// SigV4 signing. Small files go up with one PUT; larger ones as a multipart upload streamed part
/// by part from the staged file (optionally several parts at once), each request retried with
/// back-off; a multipart upload that finally fails is aborted. Objects get Content-Type and
/// `x-amz-meta-*` metadata from the PutRequest. A PutRequest::cancel flag that turns true stops
/// the upload: no further request or part starts, the transfer in flight is interrupted
/// (libcurl's progress callback), a multipart upload is aborted with one best-effort request,
/// and put() throws a non-retriable "cancelled by shutdown" Error(kStorage).
/// Thread-safe: put() may run on several threads.
class S3Store final : public ObjectStore {
 public:
  /// Validates `config` (Error(kConfig) for a bad URL, endpoint, missing credentials or a part
  /// size under 5 MiB); no request is sent until ensure_ready() or put(). `metrics` may be null;
  /// `sleeper` and `random` must outlive the store.
  S3Store(const StoreConfig& config, S3StoreOptions options, Metrics* metrics, Sleeper& sleeper,
          Random& random);
  ~S3Store() override;

  /// Checks the bucket with HEAD and creates it when missing (a concurrent creation by another
  /// instance counts as success); then, when `abort_incomplete_after` is set, aborts this
  /// prefix's multipart uploads older than that (best effort: a server without
  /// ListMultipartUploads is logged and skipped). Done once per store; later calls return at
  /// once. Throws Error(kStorage) when the bucket cannot be checked or created.
  void ensure_ready() override;

  /// Uploads the staged file under `request.key` (ensure_ready() first if not done), read
  /// through `request.fd` when it is >= 0 (`request.file` is then only named in messages),
  /// else from `request.file`. Throws Error(kStorage) for S3 failures (retriable for 5xx, 429,
  /// timeouts, resets once the request retries are used up; not for credentials, missing bucket
  /// or a rejected request) and Error(kIo) when the staged file cannot be read.
  ///
  /// When `request.sha256` is set (64 lower-case hex digits, else Error(kInternal)) the upload
  /// is verified: a file whose size is not `request.bytes` is not uploaded; a single PUT carries
  /// `x-amz-checksum-sha256`, so the server refuses any other bytes; each part of a multipart
  /// upload carries the Content-MD5 of its bytes, and the upload is aborted rather than
  /// completed when the parts read do not make up the writer's SHA-256; once the object is
  /// complete a HEAD compares its size with the file's, and an object of another size is
  /// removed. Each failure is a retriable Error(kStorage). The result then carries
  /// `request.sha256`; without it nothing of this is sent or checked.
  StoredObject put(const PutRequest& request) override;

  /// True: begin_upload() sends the parts of a multipart upload while the file grows.
  bool streams_uploads() const override { return true; }

  /// Starts an upload of a staged file still being written through `request.fd` (>= 0, only
  /// grows). Below the multipart threshold it does what put() does once the file is complete.
  /// Once the file passes the threshold, a multipart upload starts in the background and each
  /// whole part goes up (`parallel_parts` at once, read with pread() and given its
  /// Content-MD5) as soon as StreamingUpload::written() says its bytes are in the file; finish()
  /// sends the last part, and completes the upload only if the parts read make up the writer's
  /// size and SHA-256 (aborted otherwise), then checks the object's size with HEAD. The cancel
  /// flag stops it and aborts the multipart upload; so does destroying it unfinished. The
  /// object's metadata is `request.metadata` (what finish() adds comes too late for a
  /// multipart upload already started). Errors are put()'s.
  std::unique_ptr<StreamingUpload> begin_upload(const PutRequest& request) override;

  /// Deletes the object with one DELETE (retried like any request); 404 is success.
  void remove(const std::string& key) override;

  /// HEAD of the object: true for 200, false for 404.
  bool exists(const std::string& key) override;

  /// GET of the object, its body handed to `chunk` as it arrives (never held whole). Retried
  /// like any request while nothing was handed on yet; 404 is a non-retriable Error(kStorage)
  /// saying the object is absent. Never creates the bucket.
  void read(const std::string& key, const ObjectChunkFn& chunk) override;

  /// Lists the multipart uploads of `key` (ListMultipartUploads with `prefix` = the whole key;
  /// uploads of longer keys that share it are left alone) and aborts each. A server that cannot
  /// list uploads (405/501) counts as none.
  int abort_unfinished(const std::string& key) override;

  /// The key prefix from the store URL, without slashes at either end.
  std::string key_prefix() const override;

  /// With `presign_seconds` > 0: a SigV4 presigned GET URL of `key` (S3Presigner: the same
  /// endpoint, addressing and key encoding as the uploads), signed at the store's clock and
  /// valid for presign_seconds from then. nullopt when presign_seconds is 0.
  std::optional<std::string> download_url(const std::string& key) const override;

  /// The bucket from the store URL.
  const std::string& bucket() const { return location_.bucket; }

 private:
  friend class S3StreamingUpload;

  /// Counters and histogram, all null when no registry was given.
  struct Meters {
    Counter* uploads = nullptr;
    Counter* bytes = nullptr;
    Counter* retries = nullptr;
    Counter* failures = nullptr;
    Counter* aborted = nullptr;
    Counter* abort_failures = nullptr;
    Histogram* duration = nullptr;
  };

  /// A context for error messages.
  S3RequestContext context(std::string operation, std::string key = {}) const;
  /// Sends once; returns the response for 2xx or a status in `accepted`, else throws the
  /// classified Error (an S3ChecksumMismatch when the server says the body did not match its
  /// checksum). A request whose cancel flag is set is not sent (or is stopped) and
  /// throws s3_cancelled_error.
  S3HttpResponse send(const S3HttpRequest& request, const S3RequestContext& context,
                      const std::vector<long>& accepted = {});
  /// Runs `op` with the request retries; once `*cancelled` is set no further attempt starts.
  /// An error that is still retriable when the attempts are used up gets "(gave up after N
  /// attempts)" appended. An S3ChecksumMismatch is not retried here; it propagates as it is.
  template <typename Op>
  auto with_retry(Op&& op, const std::atomic<bool>* cancelled = nullptr) -> decltype(op());
  /// Counts and logs one retry (the Retry's on_retry callback).
  void note_retry(int attempt, const std::exception& error, Duration delay);
  /// send() with retries of transient failures; stops retrying once `*cancelled` is set.
  S3HttpResponse send_with_retry(const S3HttpRequest& request, const S3RequestContext& context,
                                 const std::vector<long>& accepted = {},
                                 const std::atomic<bool>* cancelled = nullptr);
  /// Creates the bucket; a 409 saying it exists is success if it is then accessible.
  void create_bucket();
  /// Aborts this prefix's multipart uploads older than the configured age; logs failures.
  void abort_stale_uploads();
  /// Pages through ListMultipartUploads with `prefix` ("" = the whole bucket) and calls
  /// `visit` with each page's uploads; false when the server does not implement the listing
  /// (405/501). Throws Error(kStorage) as send() does.
  bool list_uploads(const std::string& prefix,
                    const std::function<void(const std::vector<S3PendingUpload>&)>& visit);

  /// Throws for a key S3 refuses, or a `sha256` that is not 64 lower-case hex digits.
  void check_request(const PutRequest& request) const;
  /// Logs and counts an upload of `size` bytes that failed with `e` (a cancellation is only
  /// logged, as a warning).
  void note_failed_upload(const PutRequest& request, std::uint64_t size, const Error& e);
  /// Counts an upload of `size` bytes that began at `started`; returns the stored object.
  StoredObject note_uploaded(const PutRequest& request, std::uint64_t size,
                             std::chrono::steady_clock::time_point started);

  /// One PUT of the whole file; `cancel` (may be null) stops it.
  void put_single(const std::string& key, const S3Headers& headers, int fd, std::uint64_t size,
                  const std::atomic<bool>* cancel);
  /// Multipart upload of the `size` bytes of `fd` under `request.key`; aborts it when it fails
  /// or `request.cancel` (may be null) turns true. With `request.sha256` set, each part carries
  /// the Content-MD5 of its bytes, and the upload is aborted, not completed, when the parts read
  /// do not make up a file with that SHA-256.
  void put_multipart(const PutRequest& request, const S3Headers& headers, int fd,
                     std::uint64_t size);
  /// Starts a multipart upload of `key` whose object gets `headers`; returns its upload id.
  std::string start_upload(const std::string& key, const S3Headers& headers,
                           const std::atomic<bool>* cancel);
  /// Uploads one part of `part_count` (0: not known yet) and returns its ETag; `content_md5`
  /// (base64, "" for none) is sent as Content-MD5; `failed` stops its retries (another part
  /// failed), `cancel` (may be null) the part itself.
  std::string upload_part(const std::string& key, const std::string& upload_id, const S3Part& part,
                          std::size_t part_count, int fd, const std::string& content_md5,
                          const std::atomic<bool>& failed, const std::atomic<bool>* cancel);
  /// Completes the upload; a retried completion answered NoSuchUpload succeeds if the object
  /// is there with the expected size (the first completion went through).
  void complete_upload(const std::string& key, const std::string& upload_id,
                       const std::vector<std::string>& etags, std::uint64_t size);
  /// After an upload that put() verifies: HEADs the object and compares its Content-Length with
  /// `size`; on a mismatch (or no object) removes it and throws a retriable Error(kStorage)
  /// naming the key and both sizes.
  void check_stored_size(const std::string& key, std::uint64_t size);
  /// Aborts an upload (best effort: returns false and logs when it cannot). `once`: a single
  /// request with a short timeout and no retries (after a cancellation, so shutdown is not held
  /// up; an upload left behind is removed by the stale-upload clean-up).
  bool abort_upload(const std::string& key, const std::string& upload_id, bool once = false);

  StoreConfig config_;
  S3Location location_;
  S3Addressing addressing_;
  S3HttpClient http_;
  LockedRandom random_;
  Retry retry_;
  int max_attempts_;
  SystemClock system_clock_;
  const Clock& clock_;
  std::optional<S3Presigner> presigner_;  ///< set when presign_seconds > 0
  Meters meters_;
  std::mutex ready_mu_;
  bool ready_ = false;
};

template <typename Op>
auto S3Store::with_retry(Op&& op, const std::atomic<bool>* cancelled) -> decltype(op()) {
  std::optional<S3ChecksumMismatch> mismatch;  // retriable, but not by repeating the request
  try {
    return retry_.run(
        [&](int attempt) {
          if (attempt > 1 && cancelled != nullptr && cancelled->load()) {
            throw Error(ErrorCode::kStorage,
                        "S3 request stopped: another part of the upload failed", false);
          }
          try {
            return op();
          } catch (const S3ChecksumMismatch& e) {
            mismatch.emplace(e);
            throw Error(e.code(), e.what(), false);
          }
        },
        [this](int attempt, const std::exception& error, Duration delay) {
          note_retry(attempt, error, delay);
        });
  } catch (const Error& e) {
    if (mismatch) throw *mismatch;
    if (!e.retriable()) throw;
    throw Error(e.code(),
                std::string(e.what()) + " (gave up after " + std::to_string(max_attempts_) +
                    (max_attempts_ == 1 ? " attempt)" : " attempts)"),
                true);
  }
}

/// The S3 store for `config` (url `s3://bucket/prefix`, endpoint, region, credentials, limits)
/// with default request retries. `metrics` may be null. Throws Error(kConfig) for an invalid
/// configuration.
std::unique_ptr<ObjectStore> make_s3_store(const StoreConfig& config, Metrics* metrics,
                                           Sleeper& sleeper, Random& random);

}  // namespace user_export
