#pragma once

#include <atomic>
#include <chrono>

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
  OwnerId owner;  ///< this instance's lease-owner name
  /// Optional shutdown hook: once it reads true, attempts not yet claimed are skipped and
  /// streaming attempts stop within a few thousand rows with a non-retriable Error (their claim
  /// is kept and resumed by the next run). Owned by the caller; null = never cancelled.
  const std::atomic<bool>* cancel = nullptr;
  /// Optional: once it reads true (the first SIGTERM/SIGINT), no new claim is made: groups not
  /// yet started are skipped and failed attempts are not retried, while attempts in flight go
  /// on until `cancel`. Owned by the caller; null = never.
  const std::atomic<bool>* stop_claiming = nullptr;
  /// How often an attempt's lease keeper wakes to renew the lease or notice its loss (real
  /// time; LeaseKeeper).
  std::chrono::milliseconds lease_poll{200};
  /// Whether slots are scheduled fire times, exported once per group (the service), or the
  /// moment of a one-shot export, which exports what is unsent now even if an export ran in
  /// the same second (ClaimRequest::once_per_slot).
  bool once_per_slot = true;
};

}  // namespace user_export
