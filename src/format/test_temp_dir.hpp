#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace user_export {

/// A fresh directory under the system temp dir for one test, removed with its contents when
/// the object is destroyed. Test-only.
class TestTempDir {
 public:
  /// Creates the directory; throws std::runtime_error if it cannot.
  TestTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ue-format-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TestTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// `path() / name`.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace user_export
