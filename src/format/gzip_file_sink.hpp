#pragma once

#include <cstdint>
#include <filesystem>
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
/// SHA-256 while writing, so the file is never read back. Memory is bounded (fixed buffers).
/// If the sink is destroyed without finish(), the partial file is removed.
class GzipFileSink final : public ByteSink {
 public:
  /// Creates (O_EXCL) `path`; `level` is ISA-L's 0..3. Throws Error(kIo) naming the path.
  GzipFileSink(const std::filesystem::path& path, int level);
  ~GzipFileSink() override;
  GzipFileSink(const GzipFileSink&) = delete;
  GzipFileSink& operator=(const GzipFileSink&) = delete;

  void write(std::string_view bytes) override;
  /// Flushes the gzip trailer, fsyncs and closes the file; returns its size and SHA-256.
  FileDigest finish();
  /// Uncompressed bytes written so far.
  std::int64_t uncompressed_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace user_export
