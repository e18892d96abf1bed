// A fresh directory per test, removed with its contents afterwards.
#pragma once

#include <filesystem>
#include <string>

namespace user_export::testing {

/// A new, empty directory `<system temp dir>/<prefix>-XXXXXX` (mkdtemp), removed with its
/// contents when the object is destroyed. Declare it before the members that use it, so that it
/// outlives them.
class TempDir {
 public:
  /// Creates the directory; throws std::runtime_error if it cannot.
  explicit TempDir(const std::string& prefix = "ue-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// `path() / name`.
  std::filesystem::path operator/(const std::filesystem::path& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace user_export::testing
