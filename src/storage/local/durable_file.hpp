#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace user_export {

/// Creates `dir` and its missing parents (mode 0750 before the umask) and fsyncs the parent of
/// every directory it creates, so the new entries survive a crash. An existing directory, also
/// one created concurrently by another process, is success. Throws Error(kStorage) naming the
/// path on failure.
void create_directories_durably(const std::filesystem::path& dir);

/// Replaces `dest` with a copy of `source` atomically: the bytes go to a temporary file beside
/// `dest` (same directory, so the rename cannot cross file systems), which is fsynced, renamed
/// over `dest`, and then the directory is fsynced. Readers see the old file or the whole new one,
/// never a part. The file gets mode 0640. Returns the bytes copied. Throws Error(kStorage)
/// naming the path on failure (retriable for a full disk or an I/O error) and leaves no
/// temporary file behind. The parent directory must exist.
std::int64_t copy_file_durably(const std::filesystem::path& source,
                               const std::filesystem::path& dest);

/// Like copy_file_durably, from the open descriptor `source_fd` (read with pread from offset 0;
/// `source` only names it in errors).
std::int64_t copy_file_durably(int source_fd, const std::filesystem::path& source,
                               const std::filesystem::path& dest);

/// Removes `path` (absent is success) and fsyncs its directory. Throws Error(kStorage).
void remove_file_durably(const std::filesystem::path& path);

/// Like copy_file_durably, with `content` as the new file's bytes.
void write_file_durably(const std::filesystem::path& dest, std::string_view content);

}  // namespace user_export
