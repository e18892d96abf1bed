#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace user_export {

/// S3's limits on multipart uploads.
inline constexpr std::uint64_t kS3MinPartSize = 5ull << 20;  ///< every part but the last
inline constexpr int kS3MaxParts = 10'000;                   ///< parts per upload

/// One part of a multipart upload: a byte range of the staged file.
struct S3Part {
  int number = 0;            ///< 1-based part number
  std::uint64_t offset = 0;  ///< first byte in the file
  std::uint64_t length = 0;  ///< bytes in the part
};

/// Splits `size` bytes into parts of `part_size` bytes (raised to 5 MiB if smaller), the last
/// one shorter. When more than 10,000 parts would be needed the part size grows, in whole MiB,
/// until they fit. An empty file yields one empty part.
std::vector<S3Part> plan_s3_parts(std::uint64_t size, std::uint64_t part_size);

/// The CompleteMultipartUpload document listing `etags` as parts 1..n, in order (part numbers
/// ascending, as S3 requires).
std::string s3_complete_body(const std::vector<std::string>& etags);

/// One unfinished multipart upload, as ListMultipartUploads reports it.
struct S3PendingUpload {
  std::string key;                      ///< object key
  std::string upload_id;                ///< upload id
  std::optional<SystemTime> initiated;  ///< start time; nullopt when missing or unreadable
};

/// One page of a ListMultipartUploads answer.
struct S3UploadListing {
  std::vector<S3PendingUpload> uploads;  ///< the uploads of this page
  bool truncated = false;                ///< more pages follow
  std::string next_key_marker;           ///< `key-marker` of the next page
  std::string next_upload_id_marker;     ///< `upload-id-marker` of the next page
};

/// Parses a ListMultipartUploads answer.
S3UploadListing parse_s3_upload_listing(std::string_view xml);

/// The uploads that started more than `max_age` before `now` (those without a readable start
/// time are kept, never aborted).
std::vector<S3PendingUpload> stale_s3_uploads(const std::vector<S3PendingUpload>& uploads,
                                              SystemTime now, std::chrono::seconds max_age);

}  // namespace user_export
