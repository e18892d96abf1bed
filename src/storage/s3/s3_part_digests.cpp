#include "storage/s3/s3_part_digests.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace user_export {

S3PartDigests::S3PartDigests(int fd, std::filesystem::path file, std::string where)
    : fd_(fd), file_(std::move(file)), where_(std::move(where)), buffer_(1 << 20) {}

std::string S3PartDigests::content_md5(std::size_t index, const S3Part& part, std::uint64_t size) {
  std::unique_lock lock(mu_);
  turn_.wait(lock, [&] { return abandoned_ || next_ == index; });
  if (abandoned_) {
    throw Error(ErrorCode::kStorage, where_ + " stopped: another part of the upload failed", false);
  }
  Digest md5(Digest::Kind::kMd5);
  for (std::uint64_t done = 0; done < part.length;) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), part.length - done));
    const ssize_t n = ::pread(fd_, buffer_.data(), want, static_cast<off_t>(part.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Error(ErrorCode::kIo, "cannot read the staged file '" + file_.string() +
                                      "' for upload: " + std::strerror(errno));
    }
    if (n == 0) {
      throw Error(ErrorCode::kStorage,
                  where_ + " stopped: the staged file '" + file_.string() + "' ends at byte " +
                      std::to_string(part.offset + done) + " of " +
                      std::to_string(size > 0 ? size : part.offset + part.length) +
                      ": it changed under the upload, which is aborted, and the export "
                      "stages the file again",
                  true);
    }
    md5.update(buffer_.data(), static_cast<std::size_t>(n));
    sha256_.update(buffer_.data(), static_cast<std::size_t>(n));
    done += static_cast<std::uint64_t>(n);
  }
  read_ += part.length;
  ++next_;
  turn_.notify_all();
  return to_base64(md5.finish());
}

void S3PartDigests::verify(std::uint64_t size, const std::string& sha256) {
  std::lock_guard lock(mu_);
  const std::string read = to_hex(sha256_.finish());
  const std::string tail =
      " its writer computed: it changed under the upload, which is aborted, and the export "
      "stages the file again";
  if (read_ != size) {
    throw Error(ErrorCode::kStorage,
                where_ + " stopped: the parts read from the staged file '" + file_.string() +
                    "' hold " + std::to_string(read_) + " bytes, not the " + std::to_string(size) +
                    tail,
                true);
  }
  if (read != sha256) {
    throw Error(ErrorCode::kStorage,
                where_ + " stopped: the " + std::to_string(size) + " bytes of the staged file '" +
                    file_.string() + "' have SHA-256 " + read + ", not the " + sha256 + tail,
                true);
  }
}

void S3PartDigests::abandon() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
  }
  turn_.notify_all();
}

}  // namespace user_export
