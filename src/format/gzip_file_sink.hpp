#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "format/byte_sink.hpp"

namespace user_export {

/// Size and digest of a finished file.
struct FileDigest {
  std::int64_t bytes = 0;  ///< compressed size on disk
  std::string sha256;      ///< lower-case hex SHA-256 of the file's bytes
};

/// Streams bytes through ISA-L's igzip into a new file created with mode 0600, producing
/// standard gzip (RFC 1952) output that `gzip -t` accepts. Computes the compressed size and
/// SHA-256 while writing, so the file is never read back. Memory is bounded: the compressor's
/// state and one 256 KiB output buffer, whatever the input size; the file is written in blocks
/// of that buffer's size, and not fsync'd (it is staging: uploaded, then removed; a crash
/// discards it). Any failure (disk full, I/O error) is an Error(kIo) naming the path
/// and leaves the sink failed: later writes throw too. If the sink is destroyed without a
/// successful finish(), the partial file is removed. Not thread-safe.
class GzipFileSink final : public ByteSink {
 public:
  /// Size of the compressed-output buffer, hence of each write to the file.
  static constexpr std::size_t kOutputBufferSize = 256 * 1024;

  /// Creates (O_EXCL, mode 0600) `path`; `level` is ISA-L's 0..3 (Error(kConfig) otherwise).
  /// Throws Error(kIo) naming the path if the file exists or cannot be created.
  GzipFileSink(const std::filesystem::path& path, int level);
  /// Removes the file unless finish() succeeded.
  ~GzipFileSink() override;
  GzipFileSink(const GzipFileSink&) = delete;
  GzipFileSink& operator=(const GzipFileSink&) = delete;

  /// Compresses `bytes` into the file; throws Error(kIo) on failure or after finish().
  void write(std::string_view bytes) override;
  /// Flushes the gzip trailer, fsyncs and closes the file; returns its size and SHA-256.
  /// Calling it again returns the same result.
  FileDigest finish();
  /// Calls `callback` with the file's size after each block written to it (write(2) returned,
  /// so a reader of the same file sees those bytes); for an upload that runs while the file
  /// grows. It runs on the writing thread and must be quick.
  void on_written(std::function<void(std::int64_t)> callback);
  /// Uncompressed bytes written so far.
  std::int64_t uncompressed_bytes() const;
  /// The file being written.
  const std::filesystem::path& path() const;
  /// A descriptor of the very file this sink created (a duplicate of its own, opened for
  /// reading and writing; use positioned reads), whatever later happens to the path. Ownership
  /// passes to the caller, who closes it; -1 once taken.
  int take_read_fd();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace user_export
