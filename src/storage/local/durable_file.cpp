#include "storage/local/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace user_export {
namespace {

/// Whether a failure with `err` may go away on its own (space freed, device recovered).
bool is_transient(int err) {
  return err == ENOSPC || err == EDQUOT || err == EIO || err == EAGAIN || err == EINTR ||
         err == EBUSY;
}

[[noreturn]] void fail(const std::string& action, const std::filesystem::path& path, int err) {
  throw Error(ErrorCode::kStorage,
              "cannot " + action + " '" + path.string() + "': " + std::strerror(err) +
                  "; check that the store directory exists, is writable and has free space",
              is_transient(err));
}

/// Closes `fd` on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open directory", dir, errno);
  FdGuard guard(fd);
  if (::fsync(fd) != 0) fail("fsync directory", dir, errno);
}

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", path, errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// The atomic-replace protocol shared by both writers; `fill(fd, temp_path)` writes the bytes.
void replace_durably(const std::filesystem::path& dest,
                     const std::function<void(int, const std::filesystem::path&)>& fill) {
  const auto dir = dest.parent_path();
  std::string name = (dir / ("." + dest.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> templ(name.begin(), name.end());
  templ.push_back('\0');
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) fail("create a temporary file beside", dest, errno);
  const std::filesystem::path temp(templ.data());
  FdGuard guard(fd);
  try {
    if (::fchmod(fd, 0640) != 0) fail("set the mode of", temp, errno);
    fill(fd, temp);
    if (::fsync(fd) != 0) fail("fsync", temp, errno);
    if (::close(guard.release()) != 0) fail("close", temp, errno);
    if (::rename(temp.c_str(), dest.c_str()) != 0) fail("rename into place", dest, errno);
  } catch (...) {
    if (guard.get() >= 0) ::close(guard.release());
    ::unlink(temp.c_str());
    throw;
  }
  fsync_directory(dir);
}

}  // namespace

void create_directories_durably(const std::filesystem::path& dir) {
  // Collect the missing ancestors, outermost first.
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) fail("use as a directory", p, ENOTDIR);
      break;
    }
    if (errno != ENOENT) fail("inspect", p, errno);
    missing.push_back(p);
    if (p == p.root_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST) fail("create directory", *it, errno);
    fsync_directory(it->parent_path());
  }
}

std::int64_t copy_file_durably(const std::filesystem::path& source,
                               const std::filesystem::path& dest) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    const int err = errno;
    throw Error(ErrorCode::kStorage,
                "cannot open the staged file '" + source.string() + "': " + std::strerror(err) +
                    "; the export must stage the file again",
                false);
  }
  FdGuard in_guard(in);
  return copy_file_durably(in, source, dest);
}

std::int64_t copy_file_durably(int source_fd, const std::filesystem::path& source,
                               const std::filesystem::path& dest) {
  std::int64_t copied = 0;
  replace_durably(dest, [&](int out, const std::filesystem::path& temp) {
    std::vector<char> buffer(1 << 20);
    for (;;) {
      ssize_t n = ::pread(source_fd, buffer.data(), buffer.size(), copied);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("read the staged file", source, errno);
      }
      if (n == 0) break;
      write_all(out, buffer.data(), static_cast<std::size_t>(n), temp);
      copied += n;
    }
  });
  return copied;
}

void remove_file_durably(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    fail("remove", path, errno);
  }
  fsync_directory(path.parent_path());
}

void write_file_durably(const std::filesystem::path& dest, std::string_view content) {
  replace_durably(dest, [&](int out, const std::filesystem::path& temp) {
    write_all(out, content.data(), content.size(), temp);
  });
}

}  // namespace user_export
