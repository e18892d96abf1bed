#include "observe/process_meters.hpp"

#include "observe/meter_catalogue.hpp"

namespace user_export {

void register_process_meters(Metrics& metrics, const std::string& version) {
  metrics.gauge(meters::kBuildInfo, {{"version", version}}).set(1);
  // Creating a series starts it at 0; add(0) creates it without touching a value already set.
  metrics.gauge(meters::kOutboxPending).add(0);
  metrics.gauge(meters::kCircuitBreakerState, {{"name", "publish"}}).add(0);
  metrics.gauge(meters::kSchedulerPaused).add(0);
}

}  // namespace user_export
