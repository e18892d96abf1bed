#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "domain/ids.hpp"

namespace user_export {

/// A gzip CSV that was staged and uploaded (the seed's ExportedFile).
struct ExportedFile {
  std::filesystem::path local_path;  ///< The staged file (deleted after a successful upload).
  std::string bucket;                ///< Empty for the local-directory store.
  std::string object_key;            ///< Key inside the bucket / store root.
  std::string url;                   ///< Where a consumer fetches it (s3://… or file://…).
  /// A presigned HTTPS/HTTP GET URL of the object that needs no credentials until it expires
  /// (ObjectStore::download_url); empty when the store gives none.
  std::string download_url;
  std::string content_type = "application/gzip";
  std::int64_t rows = 0;   ///< Data rows, header excluded.
  std::int64_t bytes = 0;  ///< Compressed size.
  std::string sha256;      ///< Lower-case hex SHA-256 of the compressed bytes.
  GroupId group_id;
  DomainId domain_id;
};

}  // namespace user_export
