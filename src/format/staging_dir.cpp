#include "format/staging_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/error.hpp"

namespace user_export {

namespace {

constexpr std::string_view kStagedSuffix = ".csv.gz";
constexpr const char* kLockName = ".lock";

Error dir_error(const std::filesystem::path& dir, const std::string& what, int err) {
  return Error(ErrorCode::kIo,
               "staging directory " + dir.string() + ": " + what + " (" + std::strerror(err) +
                   "); fix its permissions or set export.staging_dir to a private directory");
}

/// Creates `dir` and its missing parents with mode 0700 (an existing component is kept as is).
void make_dirs(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw dir_error(dir, "cannot create " + partial.string(), errno);
    }
  }
}

bool has_staged_suffix(std::string_view name) {
  return name.size() > kStagedSuffix.size() &&
         name.substr(name.size() - kStagedSuffix.size()) == kStagedSuffix;
}

/// Unlinks leftover staged files in the directory open at `dir_fd`; returns how many.
int remove_leftovers(int dir_fd, const std::filesystem::path& dir) {
  int removed = 0;
  const int list_fd = ::dup(dir_fd);
  if (list_fd < 0) throw dir_error(dir, "cannot list", errno);
  DIR* d = ::fdopendir(list_fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(list_fd);
    throw dir_error(dir, "cannot list", err);
  }
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    const std::string_view name = e->d_name;
    if (!has_staged_suffix(name)) continue;
    struct stat st {};
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone already
    if (!S_ISREG(st.st_mode)) continue;
    if (::unlinkat(dir_fd, e->d_name, 0) != 0) {
      if (errno == ENOENT) continue;
      const int err = errno;
      ::closedir(d);
      throw dir_error(dir, "cannot remove leftover " + std::string(name), err);
    }
    ++removed;
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) throw dir_error(dir, "cannot list", err);
  return removed;
}

}  // namespace

StagingDir::StagingDir(std::filesystem::path dir) : dir_(std::move(dir)) {
  if (dir_.empty()) {
    throw Error(ErrorCode::kIo, "staging directory path is empty; set export.staging_dir");
  }
  make_dirs(dir_);
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) {
    throw dir_error(dir_, "cannot open it as a directory (symlinks are refused)", errno);
  }
  try {
    struct stat st {};
    if (::fstat(dir_fd, &st) != 0) throw dir_error(dir_, "cannot stat", errno);
    if (st.st_uid != ::geteuid()) {
      throw Error(ErrorCode::kIo, "staging directory " + dir_.string() + " is owned by uid " +
                                      std::to_string(st.st_uid) + ", not by this process (uid " +
                                      std::to_string(::geteuid()) +
                                      "); use a directory this user owns");
    }
    if ((st.st_mode & 07777) != 0700 && ::fchmod(dir_fd, 0700) != 0) {
      throw dir_error(dir_, "cannot set mode 0700", errno);
    }
    lock_fd_ = ::openat(dir_fd, kLockName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw dir_error(dir_, "cannot create its lock file", errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        throw Error(ErrorCode::kIo, "staging directory " + dir_.string() +
                                        " is in use by another exporter; give each running "
                                        "instance its own export.staging_dir");
      }
      throw dir_error(dir_, "cannot lock", err);
    }
    leftovers_removed_ = remove_leftovers(dir_fd, dir_);
  } catch (...) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    ::close(dir_fd);
    throw;
  }
  ::close(dir_fd);
}

StagingDir::~StagingDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::filesystem::path StagingDir::file_for(const std::string& run_id) const {
  if (run_id.empty() || run_id == "." || run_id == ".." ||
      run_id.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    throw Error(ErrorCode::kInvalidInput,
                "run id '" + run_id + "' cannot name a staging file; run ids are UUIDs");
  }
  return dir_ / (run_id + std::string(kStagedSuffix));
}

}  // namespace user_export
