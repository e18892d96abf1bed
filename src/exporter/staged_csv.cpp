#include "exporter/staged_csv.hpp"

#include <unistd.h>

#include <system_error>

namespace user_export {

StagedCsv::StagedCsv(const Config& config, const std::vector<MaskMode>& masks,
                     const std::filesystem::path& path)
    : path_(path),
      sink_(path, config.csv.gzip_level),
      writer_(config.csv, Masker(masks, config.hash_key), sink_),
      read_fd_(sink_.take_read_fd()) {
  writer_.write_header();
}

ExportedFile StagedCsv::finish() {
  writer_.flush();
  FileDigest digest = sink_.finish();
  ExportedFile file;
  file.local_path = path_;
  file.rows = writer_.rows();
  file.bytes = digest.bytes;
  file.sha256 = digest.sha256;
  return file;
}

StagedCsv::OwnedFd::~OwnedFd() {
  if (fd_ >= 0) ::close(fd_);
}

StagedFileGuard::~StagedFileGuard() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace user_export
