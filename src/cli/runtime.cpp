#include "cli/runtime.hpp"

#include <unistd.h>

#include "common/error.hpp"
#include "common/version.hpp"
#include "observe/process_meters.hpp"
#include "sweep/store_sweep.hpp"

namespace user_export {

Runtime::Runtime(const Config& cfg) : config(cfg) {
  register_process_meters(metrics, kVersion);
  repository = open_repository(config.database, clock);
}

Runtime::~Runtime() = default;

void Runtime::open_backends() {
  staging = std::make_unique<StagingDir>(config.export_.staging_dir);
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
                    sleeper,  random,      config.export_.instance_id};
}

}  // namespace user_export
