// `user-export prune`: deletes finished history older than the retention period, once.
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "runtime/runtime.hpp"
#include "service/retention.hpp"

namespace user_export {

int run_prune_command(const CommonOptions& common, std::optional<int> older_than_days) {
  Config config = load_command_config(common);
  const int days = older_than_days.value_or(config.retention.days);
  if (days < 1) {
    throw Error(ErrorCode::kInvalidInput,
                "--older-than-days must be at least 1, got " + std::to_string(days));
  }
  Runtime runtime(config);
  runtime.repository->migrate();
  RetentionOptions options;
  options.days = days;
  Retention retention(*runtime.repository, runtime.clock, runtime.metrics, options);
  const PruneCounts counts = retention.prune_now();
  std::cout << "deleted finished history older than " << days << " days:\n";
  for (const auto& [table, rows] : counts.by_table()) {
    std::cout << "  " << table << ": " << rows << " rows\n";
  }
  return kExitOk;
}

}  // namespace user_export
