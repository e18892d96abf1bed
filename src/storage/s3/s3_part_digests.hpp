#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "storage/s3/s3_multipart.hpp"

namespace user_export {

/// Reads the parts of a verified multipart upload for their Content-MD5 (the server refuses a
/// part whose body does not match it) in file order, although several threads send parts: the
/// thread with part i waits until the parts before it were read. The same bytes, in the same
/// order, make up the SHA-256 of the whole file, which verify() compares with the writer's, so
/// the parts the server accepts are the file its writer produced. One part is read at a time,
/// through one 1 MiB buffer; the reads come from the page cache the writer just filled.
class S3PartDigests {
 public:
  /// `fd` is read with pread(); `file` names it in messages; `where` starts error messages
  /// (`S3 multipart upload of 'k' in bucket 'b'`).
  S3PartDigests(int fd, std::filesystem::path file, std::string where);

  /// Reads part `index` once its turn came and returns its Content-MD5 (base64). `size` is the
  /// file's size when known (0 when not yet), for the message. Throws a retriable
  /// Error(kStorage) when the file ends before the part does; Error(kIo) when it cannot be
  /// read; a non-retriable Error(kStorage) once abandon() was called.
  std::string content_md5(std::size_t index, const S3Part& part, std::uint64_t size);

  /// Once every part was read: throws a retriable Error(kStorage) unless they were `size`
  /// bytes with SHA-256 `sha256` (lower-case hex). Call once.
  void verify(std::uint64_t size, const std::string& sha256);

  /// Wakes the threads waiting for their turn and makes them throw: another part failed.
  void abandon();

 private:
  int fd_;
  std::filesystem::path file_;
  std::string where_;
  std::mutex mu_;
  std::condition_variable turn_;
  std::size_t next_ = 0;    ///< the part to read next
  std::uint64_t read_ = 0;  ///< bytes read so far, in file order
  bool abandoned_ = false;
  Digest sha256_;
  std::vector<char> buffer_;
};

}  // namespace user_export
