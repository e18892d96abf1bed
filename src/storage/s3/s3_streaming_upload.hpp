#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/object_store.hpp"
#include "storage/s3/s3_multipart.hpp"
#include "storage/s3/s3_part_digests.hpp"

namespace user_export {

class S3Store;

/// S3Store::begin_upload(): a multipart upload whose parts go up while the staged file grows.
/// Nothing is sent while the file is at most the multipart threshold; a file that ends there
/// goes up with put() (one PUT) at finish(). When written() first reports more, a background
/// thread starts the multipart upload and sends parts with up to `parallel_parts` threads: a
/// thread takes the next part number and waits until the file holds that whole part (or until
/// finish() gives the size, for the last part), then reads it in file order for its
/// Content-MD5 and the whole file's SHA-256 (S3PartDigests) and sends it through the writer's
/// descriptor. finish() waits for the parts, compares what was read with the writer's size and
/// SHA-256, and completes the upload only if they match; then a HEAD checks the object's size.
/// Any failure, the cancel flag, or destruction before finish() aborts the multipart upload.
/// Memory: the 1 MiB read buffer and libcurl's buffers of the parts in flight.
class S3StreamingUpload final : public StreamingUpload {
 public:
  /// `request.fd` must be >= 0 and stay open until this object is gone.
  S3StreamingUpload(S3Store& store, PutRequest request);
  /// Abandons an upload that finish() did not complete: stops the parts, aborts the upload.
  ~S3StreamingUpload() override;
  S3StreamingUpload(const S3StreamingUpload&) = delete;
  S3StreamingUpload& operator=(const S3StreamingUpload&) = delete;

  void written(std::int64_t bytes) override;
  StoredObject finish(const FinishedFile& file) override;

 private:
  /// A part handed to a sending thread: its index and byte range.
  struct NextPart {
    std::size_t index = 0;
    S3Part part;
  };

  bool cancelled() const { return request_.cancel != nullptr && request_.cancel->load(); }
  /// Starts the background thread that starts the multipart upload and sends its parts.
  void start();
  /// The background thread: starts the upload, then sends parts on `parallel_parts` threads.
  void run();
  /// One sending thread: parts until none is left or the upload failed.
  void send_parts();
  /// Waits for the next part to send; nullopt when none is left or the upload failed. Throws
  /// the cancellation error once the cancel flag is set.
  std::optional<NextPart> next_part();
  /// Records the first failure and stops every thread.
  void fail(std::exception_ptr error);
  /// Waits for the background thread; then aborts the started upload (`quickly`: one
  /// request, as after a cancellation).
  void stop_and_abort(bool quickly);

  S3Store& store_;
  PutRequest request_;
  std::uint64_t threshold_;
  std::uint64_t part_size_;
  S3PartDigests digests_;
  std::chrono::steady_clock::time_point started_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::uint64_t written_ = 0;          ///< bytes the writer reported written
  std::optional<std::uint64_t> size_;  ///< the final size, once finish() was called
  std::size_t next_ = 0;               ///< the next part index to hand out
  std::vector<std::string> etags_;     ///< by part index
  std::string upload_id_;              ///< set by run() before any part is sent
  std::atomic<bool> failed_{false};
  std::exception_ptr first_error_;
  bool finished_ = false;  ///< finish() was called (successful or not)
  std::jthread runner_;
};

}  // namespace user_export
