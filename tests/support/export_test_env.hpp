// What the exporter's tests share: a SQLite configuration in a test's directory (TempDir,
// temp_dir.hpp).
#pragma once

#include <filesystem>

#include "config/config.hpp"

namespace user_export::testing {

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
