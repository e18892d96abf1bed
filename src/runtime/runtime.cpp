#include "runtime/runtime.hpp"

#include <unistd.h>

#include "common/error.hpp"
#include "common/version.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"
#include "observe/process_meters.hpp"
#include "sweep/store_sweep.hpp"

namespace user_export {

Runtime::Runtime(const Config& cfg, RepositoryAccess access) : config(cfg) {
  register_process_meters(metrics, kVersion);
  repository = open_repository(config.database, clock, access);
}

Runtime::~Runtime() = default;

void Runtime::open_backends() {
  staging = std::make_unique<StagingDir>(config.export_.staging_dir);
  if (const int removed = staging->leftovers_removed(); removed > 0) {
    log::info("removed staged files an earlier process left",
              {{"staging_dir", config.export_.staging_dir}, {"files", removed}});
    metrics.counter(meters::kSweep, {{"what", "staged_files"}}).inc(removed);
  }
  store = open_object_store(config.store, &metrics);
  store->ensure_ready();
  sink = open_message_sink(config, &metrics);
  // What processes that died left in the store (docs/ARCHITECTURE.md, "Debris").
  SweepOptions sweep;
  sweep.min_bytes = static_cast<std::int64_t>(config.store.multipart_threshold);
  StoreSweep(*repository, *store, metrics, clock, sweep).run();
}

ExportDeps Runtime::export_deps() {
  if (!store || !sink || !staging) {
    throw Error(ErrorCode::kInternal, "Runtime::export_deps called before open_backends");
  }
  return ExportDeps{config,   *repository, *store,
                    *staging, metrics,     clock,
                    sleeper,  random,      OwnerId(config.export_.instance_id)};
}

void require_schema(Repository& repository) {
  if (repository.schema_version() == 0) {
    throw Error(ErrorCode::kInvalidInput,
                "the database has no schema yet, so there is nothing to read; run `user-export "
                "migrate` first");
  }
}

}  // namespace user_export
