// `user-export schedule`: prints the next fire times of the configured cron schedule.
#include <iostream>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "config/config_loader.hpp"
#include "config/environment.hpp"
#include "schedule/cron/cron_schedule.hpp"

namespace user_export {

int run_schedule_command(const CommonOptions& common, int count,
                         const std::optional<std::string>& from) {
  SystemTime after = std::chrono::system_clock::now();
  if (from) {
    std::optional<SystemTime> parsed = parse_iso8601(*from);
    if (!parsed) {
      throw Error(ErrorCode::kUsage, "--from '" + *from +
                                         "' is not a UTC instant; write it like "
                                         "2026-11-25T00:00:00Z");
    }
    after = *parsed;
  }
  Environment env = Environment::from_process();
  Config config = load_config(config_path_from(common.config, env), env);
  CronSchedule schedule = CronSchedule::parse(config.schedule.cron, config.schedule.time_zone);
  for (int i = 0; i < count; ++i) {
    std::optional<SystemTime> next = schedule.next_after(after);
    if (!next) {
      std::cerr << "no further fire time of '" << schedule.expression() << "' in "
                << schedule.time_zone() << " within 400 years after " << format_iso8601(after)
                << "\n";
      break;
    }
    std::cout << schedule.describe(*next) << "\n";
    after = *next;
  }
  std::cout.flush();
  return kExitOk;
}

}  // namespace user_export
