#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "domain/exported_file.hpp"
#include "format/csv_writer.hpp"
#include "format/gzip_file_sink.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Which file a staged file is (device and inode), whatever its path names later.
struct StagedFileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

/// Opens the staged file at `path` for reading and checks that it is the file `identity` names
/// (the one its writer created); returns the descriptor, which the caller closes. Throws
/// Error(kIo) when it cannot be opened or is another file: then the export re-stages.
int open_staged_file(const std::filesystem::path& path, const StagedFileIdentity& identity);

/// One group's CSV being written into a staged gzip file: the header at once, then rows;
/// finish() says how many rows and bytes it holds and its SHA-256. A file not finished is
/// removed when this is destroyed. It keeps a descriptor of the file it created (read_fd()),
/// which the upload reads, so the bytes uploaded are the bytes this writer wrote and digested
/// even if the path were replaced meanwhile.
class StagedCsv {
 public:
  /// Creates `path` (Error(kIo) if it exists or cannot be created) and writes the header.
  StagedCsv(const Config& config, const std::vector<MaskMode>& masks,
            const std::filesystem::path& path);
  void write_row(RowView row) { writer_.write_row(row); }
  std::int64_t rows() const { return writer_.rows(); }
  /// Calls `callback` with the file's size each time a block of it was written (an upload
  /// that runs while the file grows, StreamingUpload::written).
  void on_written(std::function<void(std::int64_t)> callback) {
    sink_.on_written(std::move(callback));
  }
  /// Flushes and closes the file; local_path, rows, bytes and sha256 of the result are set.
  ExportedFile finish();
  /// A readable descriptor of the staged file, valid while this object lives.
  int read_fd() const { return read_fd_.get(); }
  /// The staged file's identity (for open_staged_file() once this object is gone).
  StagedFileIdentity identity() const;

 private:
  /// Closes a descriptor.
  class OwnedFd {
   public:
    explicit OwnedFd(int fd) : fd_(fd) {}
    ~OwnedFd();
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    int get() const { return fd_; }

   private:
    int fd_;
  };

  std::filesystem::path path_;
  GzipFileSink sink_;
  CsvWriter writer_;
  OwnedFd read_fd_;
};

/// Removes a staged file when an attempt ends, whatever happened.
class StagedFileGuard {
 public:
  explicit StagedFileGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~StagedFileGuard();
  StagedFileGuard(const StagedFileGuard&) = delete;
  StagedFileGuard& operator=(const StagedFileGuard&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace user_export
