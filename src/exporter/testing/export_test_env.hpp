// What the exporter's tests share: a fresh directory per test and a SQLite configuration in it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "config/config.hpp"

namespace user_export::testing {

/// An empty directory for the running test: `<tmp>/<prefix>-<pid>-<test name>`.
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() /
                   (prefix + "-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// The configuration exporter tests start from: a SQLite database and the staging directory in
/// `dir`, one fixed domain, the default columns.
inline Config sqlite_export_config(const std::filesystem::path& dir) {
  Config config;
  config.database.url = "sqlite://" + (dir / "db.sqlite").string();
  config.export_.domain_id = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41";
  config.export_.staging_dir = (dir / "staging").string();
  config.csv.columns = default_csv_columns();
  return config;
}

}  // namespace user_export::testing
