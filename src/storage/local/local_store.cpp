#include "storage/local/local_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "storage/local/durable_file.hpp"

namespace user_export {
namespace {

constexpr std::string_view kFileScheme = "file://";
constexpr std::string_view kMetadataSuffix = ".meta.json";
constexpr std::size_t kReadChunk = 1u << 20;

void check_key(const std::string& key) {
  const char* problem = nullptr;
  if (key.empty()) {
    problem = "is empty";
  } else if (key.front() == '/') {
    problem = "starts with '/'";
  } else if (key.back() == '/') {
    problem = "ends with '/'";
  } else if (key.find("..") != std::string::npos) {
    problem = "contains '..'";
  } else if (key.find('\0') != std::string::npos) {
    problem = "contains a NUL character";
  }
  if (problem != nullptr) {
    throw Error(ErrorCode::kStorage,
                "refusing object key '" + key + "': it " + problem +
                    "; keys are relative paths inside the store root",
                false);
  }
}

}  // namespace

LocalStore::LocalStore(std::filesystem::path root) : root_(std::move(root).lexically_normal()) {
  if (!root_.is_absolute()) {
    throw Error(ErrorCode::kConfig, "the local store directory '" + root_.string() +
                                        "' is not absolute; use file:///absolute/dir");
  }
  // "/a/b/" normalises to "/a/b/"; drop the empty last element so joins and URLs stay clean.
  if (root_.has_parent_path() && root_.filename().empty()) root_ = root_.parent_path();
}

std::filesystem::path LocalStore::root_from_url(const std::string& url) {
  if (!url.starts_with(kFileScheme)) {
    throw Error(ErrorCode::kConfig, "'" + url + "' is not a file:// URL; use file:///absolute/dir");
  }
  std::string path = url.substr(kFileScheme.size());
  if (path.empty() || path.front() != '/') {
    throw Error(ErrorCode::kConfig,
                "the store URL '" + url +
                    "' must name an absolute directory with three slashes, e.g. "
                    "file:///var/lib/user-export/exports");
  }
  return path;
}

std::filesystem::path LocalStore::path_for(const std::string& key) const {
  check_key(key);
  return root_ / key;
}

std::filesystem::path LocalStore::metadata_path_for(const std::string& key) const {
  auto path = path_for(key);
  path += kMetadataSuffix;
  return path;
}

void LocalStore::ensure_ready() {
  create_directories_durably(root_);
}

StoredObject LocalStore::put(const PutRequest& request) {
  const auto dest = path_for(request.key);
  std::error_code ec;
  if (request.fd < 0 && !std::filesystem::is_regular_file(request.file, ec)) {
    throw Error(ErrorCode::kStorage,
                "the staged file '" + request.file.string() +
                    "' is missing or not a regular file; the export must stage it again",
                false);
  }
  create_directories_durably(dest.parent_path());

  nlohmann::json meta;
  meta["contentType"] = request.content_type;
  meta["metadata"] = request.metadata;
  write_file_durably(metadata_path_for(request.key),
                     meta.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");

  StoredObject stored;
  stored.key = request.key;
  stored.bytes = request.fd >= 0 ? copy_file_durably(request.fd, request.file, dest)
                                 : copy_file_durably(request.file, dest);
  stored.url = std::string(kFileScheme) + dest.string();
  if (!request.sha256.empty()) verify(request, dest, stored);
  return stored;
}

void LocalStore::verify(const PutRequest& request, const std::filesystem::path& dest,
                        StoredObject& stored) {
  const int fd = ::open(dest.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::kStorage,
                "cannot read back object '" + request.key +
                    "' to check it: " + std::strerror(errno) + "; the export retries the upload",
                true);
  }
  FdDigest held;
  try {
    held = sha256_of_fd(fd, "object '" + request.key + "'");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  const bool size_ok = request.bytes < 0 || held.bytes == request.bytes;
  if (!size_ok || held.sha256 != request.sha256) {
    remove(request.key);
    throw Error(ErrorCode::kStorage,
                "object '" + request.key + "' holds " + std::to_string(held.bytes) +
                    " bytes with SHA-256 " + held.sha256 + " but the staged file had " +
                    std::to_string(request.bytes) + " bytes with SHA-256 " + request.sha256 +
                    "; it was removed and the export retries the upload",
                true);
  }
  stored.bytes = held.bytes;
  stored.sha256 = held.sha256;
}

void LocalStore::remove(const std::string& key) {
  remove_file_durably(path_for(key));
  remove_file_durably(metadata_path_for(key));
}

bool LocalStore::exists(const std::string& key) {
  std::error_code ec;
  const bool found = std::filesystem::exists(path_for(key), ec);
  if (ec) {
    throw Error(ErrorCode::kStorage,
                "cannot check the object '" + path_for(key).string() + "': " + ec.message(), true);
  }
  return found;
}

void LocalStore::read(const std::string& key, const ObjectChunkFn& chunk) {
  const auto path = path_for(key);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(ErrorCode::kStorage,
                err == ENOENT
                    ? "object '" + key + "' is not in the store (no file " + path.string() + ")"
                    : "cannot read object '" + key + "' at " + path.string() + ": " +
                          std::strerror(err) + "; check the store directory's permissions",
                false);
  }
  std::vector<char> buffer(kReadChunk);
  try {
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw Error(
            ErrorCode::kStorage,
            "cannot read object '" + key + "' at " + path.string() + ": " + std::strerror(errno),
            true);
      }
      if (n == 0) break;
      chunk(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

int LocalStore::abort_unfinished(const std::string& key) {
  int removed = 0;
  // The object's and its sidecar's temporary files (replace_durably's naming).
  for (const auto& dest : {path_for(key), metadata_path_for(key)}) {
    const std::string stem = "." + dest.filename().string() + ".tmp-";
    std::error_code ec;
    std::filesystem::directory_iterator it(dest.parent_path(), ec);
    if (ec) continue;  // no directory: nothing was ever written there
    for (const auto& entry : it) {
      const std::string name = entry.path().filename().string();
      // The template's suffix is six characters: longer names belong to other keys.
      if (name.size() != stem.size() + 6 || name.compare(0, stem.size(), stem) != 0) continue;
      remove_file_durably(entry.path());
      ++removed;
    }
  }
  return removed;
}

}  // namespace user_export
