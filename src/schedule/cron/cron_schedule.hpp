#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "schedule/cron/cron_expression.hpp"

namespace date {
class time_zone;
}  // namespace date

namespace user_export {

/// A parsed Spring-style six-field cron expression bound to an IANA time zone.
/// Immutable after parsing; safe to share between threads.
class CronSchedule {
 public:
  /// Parses `expression` (or a macro) for `time_zone`; throws Error(kConfig) naming the field
  /// (second, minute, hour, day-of-month, month, day-of-week) and the reason, the unknown zone,
  /// or that the expression never fires (`0 0 0 31 2 *`).
  static CronSchedule parse(std::string_view expression, std::string_view time_zone);
  /// The first fire time strictly after `after`, or nullopt if there is none within a bounded
  /// search (parse() refuses expressions that never fire). Local times inside a DST gap do not
  /// fire; a local time that occurs twice (DST overlap) fires once, at its first occurrence.
  std::optional<SystemTime> next_after(SystemTime after) const;
  /// `2026-11-25T20:59:00+05:30 (2026-11-25T15:29:00Z)`-style text for a fire time: local time
  /// with its offset, then the UTC instant.
  std::string describe(SystemTime instant) const;
  /// The expression as given (a macro stays a macro).
  const std::string& expression() const { return expression_; }
  /// The IANA zone name as given.
  const std::string& time_zone() const { return time_zone_; }

 private:
  CronSchedule(std::string expression, std::string time_zone, CronExpression fields,
               const date::time_zone* zone);

  std::string expression_;
  std::string time_zone_;
  CronExpression fields_;
  const date::time_zone* zone_;
};

}  // namespace user_export
