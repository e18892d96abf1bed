// The multipart half of S3Store: start, parts (optionally in parallel), complete, abort.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"
#include "storage/s3/s3_xml.hpp"

namespace user_export {
namespace {

void inc(Counter* counter) {
  if (counter != nullptr) counter->inc();
}

/// Limit of the single abort request sent after a cancellation.
constexpr std::chrono::milliseconds kQuickAbortTimeout{5000};

/// Reads the parts of a verified upload for their Content-MD5 (the server refuses a part whose
/// body does not match it) in file order, although several threads send parts: the thread with
/// part i waits until the parts before it were read. The same bytes, in the same order, make up
/// the SHA-256 of the whole file, compared with the writer's once the last part is read, so the
/// parts the server accepts are the file its writer produced. One part is read at a time, through
/// one buffer; the reads come from the page cache the writer just filled.
class PartDigests {
 public:
  /// `where` starts error messages (`S3 multipart upload of 'k' in bucket 'b'`).
  PartDigests(int fd, const std::vector<S3Part>& parts, const PutRequest& request,
              std::uint64_t size, std::string where)
      : fd_(fd),
        parts_(parts),
        request_(request),
        size_(size),
        where_(std::move(where)),
        buffer_(1 << 20) {}

  /// Reads part `index` once its turn came and returns its Content-MD5 (base64). Throws a
  /// retriable Error(kStorage) when the file ends early or, at the last part, when the whole
  /// file's SHA-256 is not the writer's (it changed under the upload); Error(kIo) when it cannot
  /// be read; a non-retriable Error(kStorage) once abandon() was called.
  std::string content_md5(std::size_t index) {
    std::unique_lock lock(mu_);
    turn_.wait(lock, [&] { return abandoned_ || next_ == index; });
    if (abandoned_) {
      throw Error(ErrorCode::kStorage, where_ + " stopped: another part of the upload failed",
                  false);
    }
    const S3Part& part = parts_[index];
    Digest md5(Digest::Kind::kMd5);
    for (std::uint64_t done = 0; done < part.length;) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), part.length - done));
      const ssize_t n = ::pread(fd_, buffer_.data(), want, static_cast<off_t>(part.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw Error(ErrorCode::kIo, "cannot read the staged file '" + request_.file.string() +
                                        "' for upload: " + std::strerror(errno));
      }
      if (n == 0) {
        throw Error(ErrorCode::kStorage,
                    where_ + " stopped: the staged file '" + request_.file.string() +
                        "' ends at byte " + std::to_string(part.offset + done) + " of " +
                        std::to_string(size_) +
                        ": it changed under the upload, which is aborted, and the export "
                        "stages the file again",
                    true);
      }
      md5.update(buffer_.data(), static_cast<std::size_t>(n));
      sha256_.update(buffer_.data(), static_cast<std::size_t>(n));
      done += static_cast<std::uint64_t>(n);
    }
    if (++next_ == parts_.size()) {
      const std::string read = to_hex(sha256_.finish());
      if (read != request_.sha256) {
        throw Error(ErrorCode::kStorage,
                    where_ + " stopped: the " + std::to_string(size_) +
                        " bytes of the staged file '" + request_.file.string() + "' have SHA-256 " +
                        read + ", not the " + request_.sha256 +
                        " its writer computed: it changed under the upload, which is aborted, "
                        "and the export stages the file again",
                    true);
      }
    }
    turn_.notify_all();
    return to_base64(md5.finish());
  }

  /// Wakes the threads waiting for their turn and makes them throw: another part failed.
  void abandon() {
    {
      std::lock_guard lock(mu_);
      abandoned_ = true;
    }
    turn_.notify_all();
  }

 private:
  int fd_;
  const std::vector<S3Part>& parts_;
  const PutRequest& request_;
  std::uint64_t size_;
  std::string where_;
  std::mutex mu_;
  std::condition_variable turn_;
  std::size_t next_ = 0;  ///< the part to read next
  bool abandoned_ = false;
  Digest sha256_;
  std::vector<char> buffer_;
};

}  // namespace

void S3Store::put_multipart(const PutRequest& request, const S3Headers& headers, int fd,
                            std::uint64_t size) {
  const std::string& key = request.key;
  const std::atomic<bool>* cancel = request.cancel;
  const std::vector<S3Part> parts = plan_s3_parts(size, config_.part_size);
  S3HttpRequest start{"POST", addressing_.object_url(key, {{"uploads", ""}}), headers, {}, {}};
  start.cancel = cancel;
  const auto started = send_with_retry(start, context("start of multipart upload", key));
  const std::string upload_id = xml_text(started.body, "UploadId").value_or("");
  if (upload_id.empty()) {
    throw Error(ErrorCode::kStorage,
                "S3 start of multipart upload of '" + key + "' in bucket '" + location_.bucket +
                    "' got no UploadId from " + addressing_.endpoint_text() +
                    "; the server is not S3-compatible enough for multipart uploads: raise the "
                    "multipart threshold to upload with a single PUT",
                false);
  }

  // Workers take the next part number from `next`; the first failure stops new parts and
  // in-flight retries, and is the error reported. A cancellation is such a failure: the part in
  // flight is interrupted and the next one is not sent. `etags` slots are written by one worker
  // each and read only after every worker has joined. A verified upload reads each part for its
  // Content-MD5 before sending it, and the whole file's SHA-256 on the way (PartDigests).
  std::optional<PartDigests> digests;
  if (!request.sha256.empty()) {
    digests.emplace(fd, parts, request, size,
                    "S3 multipart upload of '" + key + "' in bucket '" + location_.bucket + "'");
  }
  std::vector<std::string> etags(parts.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::exception_ptr first_error;
  auto worker = [&] {
    while (!failed.load()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= parts.size()) return;
      try {
        const std::string md5 = digests ? digests->content_md5(i) : std::string();
        etags[i] = upload_part(key, upload_id, parts[i], parts.size(), fd, md5, failed, cancel);
      } catch (...) {
        {
          std::lock_guard lock(error_mu);
          if (!first_error) first_error = std::current_exception();
        }
        failed.store(true);
        if (digests) digests->abandon();  // after first_error: a woken waiter's error is not it
        return;
      }
    }
  };
  const auto threads =
      std::min<std::size_t>(static_cast<std::size_t>(config_.parallel_parts), parts.size());
  {
    std::vector<std::jthread> helpers;
    for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
    worker();
  }
  const bool cancelled = cancel != nullptr && cancel->load();
  if (cancelled && !first_error) {  // every part went up just before the cancellation
    first_error = std::make_exception_ptr(s3_cancelled_error(context("multipart upload", key)));
  }
  if (first_error) {
    abort_upload(key, upload_id, cancelled);
    std::rethrow_exception(first_error);
  }
  try {
    complete_upload(key, upload_id, etags, size);
  } catch (const Error&) {
    abort_upload(key, upload_id);
    throw;
  }
}

std::string S3Store::upload_part(const std::string& key, const std::string& upload_id,
                                 const S3Part& part, std::size_t part_count, int fd,
                                 const std::string& content_md5, const std::atomic<bool>& failed,
                                 const std::atomic<bool>* cancel) {
  const auto ctx = context(
      "upload of part " + std::to_string(part.number) + " of " + std::to_string(part_count), key);
  S3HttpRequest request{"PUT",
                        addressing_.object_url(key, {{"partNumber", std::to_string(part.number)},
                                                     {"uploadId", upload_id}}),
                        {},
                        {},
                        S3FileBody{fd, part.offset, part.length}};
  if (!content_md5.empty()) request.headers.emplace_back("Content-MD5", content_md5);
  request.cancel = cancel;
  const auto answer = send_with_retry(request, ctx, {}, &failed);
  std::string etag = answer.header("etag");
  if (etag.empty()) {
    throw Error(ErrorCode::kStorage,
                "S3 " + ctx.operation + " of '" + key + "' got no ETag from " + ctx.endpoint +
                    "; the server is not S3-compatible enough for multipart uploads: raise the "
                    "multipart threshold to upload with a single PUT",
                false);
  }
  return etag;
}

void S3Store::complete_upload(const std::string& key, const std::string& upload_id,
                              const std::vector<std::string>& etags, std::uint64_t size) {
  const auto ctx = context("completion of multipart upload", key);
  const S3HttpRequest request{"POST",
                              addressing_.object_url(key, {{"uploadId", upload_id}}),
                              {{"Content-Type", "application/xml"}},
                              s3_complete_body(etags),
                              {}};
  int attempt = 0;
  with_retry([&] {
    ++attempt;
    const auto answer = send(request, ctx, {404});
    const std::string code = xml_text(answer.body, "Code").value_or("");
    if (answer.status == 404 && code == "NoSuchUpload" && attempt > 1) {
      // An earlier attempt may have completed the upload and lost only the answer: the object
      // is then there with the expected size.
      const auto head = send(S3HttpRequest{"HEAD", addressing_.object_url(key), {}, {}, {}},
                             context("check of completed upload", key), {404});
      if (head.status == 200 && head.header("content-length") == std::to_string(size)) return;
    }
    // S3 may answer 200 with an <Error> document when completion fails late.
    if (answer.status == 404 || !xml_blocks(answer.body, "Error").empty()) {
      throw s3_http_error(ctx, answer.status, answer.body);
    }
  });
}

bool S3Store::abort_upload(const std::string& key, const std::string& upload_id, bool once) {
  const auto ctx = context("abort of multipart upload", key);
  try {
    S3HttpRequest request{
        "DELETE", addressing_.object_url(key, {{"uploadId", upload_id}}), {}, {}, {}};
    const std::vector<long> accepted{404, 405, 501};
    if (once) request.timeout = std::min(config_.request_timeout, kQuickAbortTimeout);
    const auto answer =
        once ? send(request, ctx, accepted) : send_with_retry(request, ctx, accepted);
    if (answer.status == 405 || answer.status == 501) {
      throw Error(ErrorCode::kStorage,
                  "the server at " + ctx.endpoint +
                      " does not implement AbortMultipartUpload (HTTP " +
                      std::to_string(answer.status) + ")",
                  false);
    }
  } catch (const Error& e) {
    inc(meters_.abort_failures);
    spdlog::warn(
        "could not abort multipart upload upload_id={} bucket={} key={}: {}; its parts "
        "stay on the server until a lifecycle rule or the stale-upload clean-up "
        "(abort_incomplete_after) removes them",
        upload_id, location_.bucket, key, e.what());
    return false;
  }
  inc(meters_.aborted);
  spdlog::info("aborted multipart upload upload_id={} bucket={} key={}", upload_id,
               location_.bucket, key);
  return true;
}

}  // namespace user_export
