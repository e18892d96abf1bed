#pragma once

#include <filesystem>
#include <string>

namespace user_export {

/// The private directory where files are staged before upload. On construction the directory
/// and any missing parents are created with mode 0700, an existing directory's mode is set to
/// exactly 0700, and staged files left over from earlier processes (`*.csv.gz` regular files)
/// are removed; other entries are left alone, so a misconfigured path cannot wipe unrelated
/// data. The directory must be a real directory (not a symlink) owned by this process's user.
/// While the object lives it holds an exclusive lock (`flock` on `.lock` inside), so a second
/// process (or a second StagingDir in this one) cannot delete files being staged: give each
/// running instance its own directory. Thread-safe: after construction only paths are
/// computed.
class StagingDir {
 public:
  /// Throws Error(kIo) naming the directory if it cannot be created, secured, locked or
  /// cleaned.
  explicit StagingDir(std::filesystem::path dir);
  /// Releases the lock; staged files are left for their owners to remove.
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  /// `dir/<run_id>.csv.gz`. Throws Error(kInvalidInput) if `run_id` is empty or contains `/`,
  /// a NUL byte or is `.`/`..`, since it would escape or name the directory.
  std::filesystem::path file_for(const std::string& run_id) const;
  /// The directory.
  const std::filesystem::path& path() const { return dir_; }
  /// How many staged files left by earlier processes the constructor removed.
  int leftovers_removed() const { return leftovers_removed_; }

 private:
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  int leftovers_removed_ = 0;
};

}  // namespace user_export
