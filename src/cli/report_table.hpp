#pragma once

#include <filesystem>
#include <ostream>
#include <vector>

#include "exporter/export_service.hpp"

namespace user_export {

/// Prints one line per group: group, type, state, rows, messages, file, bytes, seconds, and the
/// error of a failed group. File paths are shown relative to `relative_to` when inside it.
void print_report_table(std::ostream& out, const std::vector<GroupResult>& groups,
                        const std::filesystem::path& relative_to);

}  // namespace user_export
