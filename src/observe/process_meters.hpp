#pragma once

#include <string>

#include "observe/metrics.hpp"

namespace user_export {

/// Registers the meters every process exposes from its start, so a scrape (or a one-shot
/// run's metrics file) never lacks a family that the alerts and the dashboard use:
/// `users_export_build_info{version} 1`, `users_export_outbox_pending` 0,
/// `users_export_circuit_breaker_state{name="publish"}` 0 (closed) and
/// `users_export_scheduler_paused` 0. Values already set are left alone, so calling it after
/// other components started is harmless.
void register_process_meters(Metrics& metrics, const std::string& version);

}  // namespace user_export
