#include "observe/process_meters.hpp"

namespace user_export {

void register_process_meters(Metrics& metrics, const std::string& version) {
  metrics
      .gauge("users_export_build_info", "Always 1; the version label names the running build",
             {{"version", version}})
      .set(1);
  // Creating a series starts it at 0; add(0) creates it without touching a value already set.
  metrics.gauge("users_export_outbox_pending", "Outbox messages not yet delivered").add(0);
  metrics
      .gauge("users_export_circuit_breaker_state",
             "Circuit breaker around message sends: 0 closed, 1 open, 2 half-open",
             {{"name", "publish"}})
      .add(0);
  metrics
      .gauge("users_export_scheduler_paused",
             "1 while the scheduler is paused through the admin API, else 0")
      .add(0);
}

}  // namespace user_export
