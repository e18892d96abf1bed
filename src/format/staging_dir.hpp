#pragma once

#include <filesystem>
#include <string>

namespace user_export {

/// The private directory where files are staged before upload. On construction it is created
/// with mode 0700 (or its mode is tightened) and emptied of leftovers from earlier processes.
/// Thread-safe (paths only).
class StagingDir {
 public:
  /// Throws Error(kIo) naming the directory if it cannot be created or secured.
  explicit StagingDir(std::filesystem::path dir);
  /// `dir/<run_id>.csv.gz`.
  std::filesystem::path file_for(const std::string& run_id) const;
  /// The directory.
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace user_export
