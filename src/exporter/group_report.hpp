#pragma once

#include "exporter/export_deps.hpp"
#include "exporter/export_service.hpp"

namespace user_export {

/// The metrics of a committed attempt of `result.group`: rows exported (and marked, when
/// `mark_sent`), and the attempt's duration (docs/OBSERVABILITY.md).
void count_committed(const ExportDeps& deps, const GroupResult& result, bool mark_sent,
                     double attempt_seconds);

/// The metrics and the log line of a group's final result for `slot`.
void report_result(const ExportDeps& deps, Slot slot, const GroupResult& result);

}  // namespace user_export
