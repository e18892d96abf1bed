#pragma once

#include <memory>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "exporter/export_deps.hpp"
#include "format/staging_dir.hpp"
#include "observe/metrics.hpp"
#include "publish/message_sink.hpp"
#include "source/repository.hpp"
#include "storage/object_store.hpp"

namespace user_export {

/// The process-wide objects of one command, built from the configuration: real clock and
/// randomness, the metrics registry, and the three backends. Owns all of them.
class Runtime {
 public:
  /// Opens the database only; the store, sink and staging dir are opened by open_backends().
  explicit Runtime(const Config& config, RepositoryAccess access = RepositoryAccess::kReadWrite);
  ~Runtime();

  /// Opens the object store (ensuring its bucket/dir), the message sink and the staging dir,
  /// then sweeps the store for what dead writers left (StoreSweep).
  void open_backends();

  /// Dependencies for the exporters (requires open_backends()).
  ExportDeps export_deps();

  const Config& config;
  SystemClock clock;
  ThreadSleeper sleeper;
  SystemRandom random;
  Metrics metrics;
  std::unique_ptr<Repository> repository;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<MessageSink> sink;
  std::unique_ptr<StagingDir> staging;
};

/// For the read-only commands (`plan`, `verify`), which never migrate: throws
/// Error(kInvalidInput) saying to run `user-export migrate` when the database has no schema.
void require_schema(Repository& repository);

}  // namespace user_export
