#pragma once

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
};

}  // namespace user_export
