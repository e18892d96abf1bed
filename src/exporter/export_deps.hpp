#pragma once

#include <atomic>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "format/staging_dir.hpp"
#include "observe/metrics.hpp"
#include "source/repository.hpp"
#include "storage/object_store.hpp"

namespace user_export {

/// Everything one group export needs, owned elsewhere (by the CLI or the daemon) and shared by
/// all workers. Every member is thread-safe.
struct ExportDeps {
  const Config& config;
  Repository& repository;
  ObjectStore& store;
  StagingDir& staging;
  Metrics& metrics;
  Clock& clock;
  Sleeper& sleeper;
  Random& random;
  std::string owner;  ///< this instance's lease-owner name
  /// Optional shutdown hook: once it reads true, attempts not yet claimed are skipped and
  /// streaming attempts stop within a few thousand rows with a non-retriable Error (their claim
  /// is kept and resumed by the next run). Owned by the caller; null = never cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

}  // namespace user_export
