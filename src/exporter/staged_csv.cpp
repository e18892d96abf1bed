#include "exporter/staged_csv.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/error.hpp"

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

StagedFileIdentity StagedCsv::identity() const {
  struct stat info {};
  if (::fstat(read_fd_.get(), &info) != 0) {
    throw Error(ErrorCode::kIo,
                "cannot stat staging file " + path_.string() + ": " + std::strerror(errno));
  }
  return {static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino)};
}

int open_staged_file(const std::filesystem::path& path, const StagedFileIdentity& identity) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::kIo,
                "cannot open staging file " + path.string() + " for upload: " + std::strerror(err) +
                    "; the export stages it again",
                true);
  }
  if (static_cast<std::uint64_t>(info.st_dev) != identity.device ||
      static_cast<std::uint64_t>(info.st_ino) != identity.inode) {
    ::close(fd);
    throw Error(ErrorCode::kIo,
                "staging file " + path.string() +
                    " is not the file its writer created (something replaced it); the export "
                    "stages it again",
                true);
  }
  return fd;
}

StagedCsv::OwnedFd::~OwnedFd() {
  if (fd_ >= 0) ::close(fd_);
}

StagedFileGuard::~StagedFileGuard() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace user_export
