#include "storage/s3/s3_streaming_upload.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "storage/s3/s3_headers.hpp"
#include "storage/s3/s3_store.hpp"

namespace user_export {
namespace {

/// How often a thread waiting for the file to grow looks at the cancel flag.
constexpr std::chrono::milliseconds kCancelPoll{200};
/// S3's largest part.
constexpr std::uint64_t kMaxPartSize = 5ull << 30;

}  // namespace

S3StreamingUpload::S3StreamingUpload(S3Store& store, PutRequest request)
    : store_(store),
      request_(std::move(request)),
      threshold_(store.config_.multipart_threshold),
      part_size_(std::max(store.config_.part_size, kS3MinPartSize)),
      digests_(request_.fd, request_.file,
               "S3 multipart upload of '" + request_.key + "' in bucket '" +
                   store.location_.bucket + "'"),
      started_(std::chrono::steady_clock::now()) {
  if (request_.fd < 0) {
    throw Error(ErrorCode::kInternal, "an S3 upload of '" + request_.key +
                                          "' while its file is written needs the writer's "
                                          "descriptor");
  }
  PutRequest unverified = request_;
  unverified.sha256.clear();
  store_.check_request(unverified);
}

S3StreamingUpload::~S3StreamingUpload() {
  if (finished_) return;
  fail(std::make_exception_ptr(
      Error(ErrorCode::kStorage, "the upload of '" + request_.key + "' was abandoned by its writer",
            false)));
  stop_and_abort(cancelled());
}

void S3StreamingUpload::written(std::int64_t bytes) {
  {
    std::lock_guard lock(mu_);
    written_ = std::max<std::uint64_t>(written_, static_cast<std::uint64_t>(bytes));
  }
  changed_.notify_all();
  if (!runner_.joinable() && !failed_.load() && static_cast<std::uint64_t>(bytes) > threshold_) {
    start();
  }
}

void S3StreamingUpload::start() {
  runner_ = std::jthread([this] { run(); });
}

void S3StreamingUpload::run() {
  try {
    store_.ensure_ready();
    const std::string id = store_.start_upload(
        request_.key, s3_object_headers(request_.content_type, request_.metadata), request_.cancel);
    std::lock_guard lock(mu_);
    upload_id_ = id;
  } catch (...) {
    fail(std::current_exception());
    return;
  }
  std::vector<std::jthread> helpers;
  for (int t = 1; t < store_.config_.parallel_parts; ++t) {
    helpers.emplace_back([this] { send_parts(); });
  }
  send_parts();
}

void S3StreamingUpload::send_parts() {
  while (!failed_.load()) {
    try {
      const auto next = next_part();
      if (!next) return;
      const std::string md5 = digests_.content_md5(next->index, next->part, 0);
      std::string etag = store_.upload_part(request_.key, upload_id_, next->part, 0, request_.fd,
                                            md5, failed_, request_.cancel);
      std::lock_guard lock(mu_);
      if (etags_.size() <= next->index) etags_.resize(next->index + 1);
      etags_[next->index] = std::move(etag);
    } catch (...) {
      fail(std::current_exception());
      return;
    }
  }
}

std::optional<S3StreamingUpload::NextPart> S3StreamingUpload::next_part() {
  std::unique_lock lock(mu_);
  const std::size_t index = next_++;
  if (index >= static_cast<std::size_t>(kS3MaxParts)) return std::nullopt;
  const std::uint64_t offset = index * part_size_;
  // The last part S3 allows takes the rest of the file, whatever its length.
  const bool last_allowed = index + 1 == static_cast<std::size_t>(kS3MaxParts);
  const int number = static_cast<int>(index) + 1;
  for (;;) {
    if (failed_.load()) return std::nullopt;
    if (cancelled()) throw s3_cancelled_error(store_.context("multipart upload", request_.key));
    if (size_) {
      if (offset >= *size_) return std::nullopt;
      const std::uint64_t length =
          last_allowed ? *size_ - offset : std::min(part_size_, *size_ - offset);
      if (length > kMaxPartSize) {
        throw Error(ErrorCode::kStorage,
                    "the staged file '" + request_.file.string() + "' of " +
                        std::to_string(*size_) + " bytes needs more than " +
                        std::to_string(kS3MaxParts) + " parts of " + std::to_string(part_size_) +
                        " bytes; it is uploaded again from the file with larger parts",
                    true);
      }
      return NextPart{index, S3Part{number, offset, length}};
    }
    if (!last_allowed && written_ >= offset + part_size_) {
      return NextPart{index, S3Part{number, offset, part_size_}};
    }
    changed_.wait_for(lock, kCancelPoll);
  }
}

void S3StreamingUpload::fail(std::exception_ptr error) {
  {
    std::lock_guard lock(mu_);
    if (!first_error_) first_error_ = std::move(error);
    failed_.store(true);
  }
  changed_.notify_all();
  digests_.abandon();  // after first_error_: a woken reader's error is not the one reported
}

void S3StreamingUpload::stop_and_abort(bool quickly) {
  if (runner_.joinable()) runner_.join();
  if (!upload_id_.empty()) store_.abort_upload(request_.key, upload_id_, quickly);
}

StoredObject S3StreamingUpload::finish(const FinishedFile& file) {
  finished_ = true;
  PutRequest request = request_;
  request.bytes = file.bytes;
  request.sha256 = file.sha256;
  if (!runner_.joinable() && static_cast<std::uint64_t>(file.bytes) <= threshold_) {
    // Never passed the threshold: one PUT of the whole file, as put() does it.
    for (const auto& [name, value] : file.metadata) request.metadata[name] = value;
    return store_.put(request);
  }
  const auto size = static_cast<std::uint64_t>(file.bytes);
  try {
    store_.check_request(request);
    if (request.sha256.empty()) {
      throw Error(ErrorCode::kInternal, "an S3 upload of '" + request.key +
                                            "' while its file is written needs its SHA-256");
    }
    struct stat info {};
    if (::fstat(request.fd, &info) != 0) {
      throw Error(ErrorCode::kIo, "cannot read the staged file '" + request.file.string() +
                                      "' for upload: " + std::strerror(errno));
    }
    if (static_cast<std::uint64_t>(info.st_size) != size) {
      throw Error(ErrorCode::kStorage,
                  "the staged file '" + request.file.string() + "' holds " +
                      std::to_string(info.st_size) + " bytes but its writer wrote " +
                      std::to_string(size) + ": it changed after it was written; the upload of '" +
                      request.key + "' is aborted, and the export stages the file again",
                  true);
    }
  } catch (...) {
    fail(std::current_exception());
  }
  written(file.bytes);  // starts the upload if the last write passed the threshold
  {
    std::lock_guard lock(mu_);
    size_ = size;
  }
  changed_.notify_all();
  if (runner_.joinable()) runner_.join();
  const bool was_cancelled = cancelled();
  if (!first_error_ && was_cancelled) {  // every part went up just before the cancellation
    first_error_ = std::make_exception_ptr(
        s3_cancelled_error(store_.context("multipart upload", request.key)));
  }
  if (!first_error_) {
    try {  // complete only if the parts read are the writer's file
      digests_.verify(size, request.sha256);
    } catch (...) {
      first_error_ = std::current_exception();
    }
  }
  try {
    if (first_error_) {
      if (!upload_id_.empty()) store_.abort_upload(request.key, upload_id_, was_cancelled);
      std::rethrow_exception(first_error_);
    }
    try {
      store_.complete_upload(request.key, upload_id_, etags_, size);
    } catch (const Error&) {
      store_.abort_upload(request.key, upload_id_);
      throw;
    }
    store_.check_stored_size(request.key, size);
  } catch (const Error& e) {
    store_.note_failed_upload(request, size, e);
    throw;
  }
  return store_.note_uploaded(request, size, started_);
}

}  // namespace user_export
