#pragma once

#include <filesystem>
#include <string>

#include "storage/object_store.hpp"

namespace user_export {

/// The `file:///absolute/dir` object store: objects are files under a root directory, for the
/// embedded default, demos and tests. Each put() replaces the object atomically (temporary file
/// beside it, fsync, rename, fsync of the directory) and writes the content type and metadata
/// the same way to a sidecar `<key>.meta.json`, before the object itself, so an object that is
/// visible always has its metadata. Thread-safe: concurrent puts of one key leave one whole
/// object (the last rename wins).
class LocalStore final : public ObjectStore {
 public:
  /// Stores under `root`, which must be absolute; throws Error(kConfig) otherwise.
  explicit LocalStore(std::filesystem::path root);

  /// The root directory named by a `file:///absolute/dir` URL; throws Error(kConfig) for any
  /// other form (a host, a relative path, another scheme).
  static std::filesystem::path root_from_url(const std::string& url);

  /// Creates the root directory (and parents) if missing.
  void ensure_ready() override;
  /// Copies `request.file` (through `request.fd` when given) to `<root>/<key>` and writes
  /// `<root>/<key>.meta.json`. With `request.sha256` set, the object is read back after its
  /// fsync and rename and compared; a mismatch removes it and throws a retriable
  /// Error(kStorage). Keys must be relative and free of `..`; a bad key is Error(kStorage), not
  /// retriable.
  StoredObject put(const PutRequest& request) override;
  /// Removes `<root>/<key>` and its metadata sidecar (absent is success).
  void remove(const std::string& key) override;
  /// Whether `<root>/<key>` exists.
  bool exists(const std::string& key) override;
  /// Streams `<root>/<key>` to `chunk` in blocks of 1 MiB; Error(kStorage) when it is absent.
  void read(const std::string& key, const ObjectChunkFn& chunk) override;
  /// Removes the temporary files (`.<name>.tmp-*` beside `<root>/<key>`) that a writer of the
  /// key left when it died between creating and renaming them.
  int abort_unfinished(const std::string& key) override;
  /// Always "": a local store has no key prefix of its own.
  std::string key_prefix() const override { return {}; }

  /// The root directory.
  const std::filesystem::path& root() const { return root_; }
  /// Where the object `key` lives; throws Error(kStorage) for an unsafe key.
  std::filesystem::path path_for(const std::string& key) const;
  /// The metadata sidecar of the object `key`.
  std::filesystem::path metadata_path_for(const std::string& key) const;

 private:
  /// Reads the object at `dest` back and compares it with the request's size and digest.
  void verify(const PutRequest& request, const std::filesystem::path& dest, StoredObject& stored);

  std::filesystem::path root_;
};

}  // namespace user_export
