#include "schedule/cron/cron_schedule.hpp"

#include <date/tz.h>

#include <stdexcept>
#include <utility>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace user_export {
namespace {

using std::chrono::seconds;

/// How far ahead a search goes: 400 years is a full Gregorian cycle, so any calendar pattern
/// that can ever match (29 February on a Monday, a fifth Friday in February) matches within it.
constexpr int kSearchYears = 400;
/// Upper bound on zone-resolution steps of one search; each step moves strictly forward.
constexpr int kMaxResolutionSteps = 100000;

/// The first time of day at or after `tod` (seconds since midnight) whose hour, minute and
/// second are selected, or nullopt when none is left in the day.
std::optional<seconds> first_time_of_day(const CronExpression& cron, seconds tod) {
  const auto start = static_cast<unsigned>(tod.count());
  const unsigned h0 = start / 3600;
  const unsigned m0 = start / 60 % 60;
  const unsigned s0 = start % 60;
  for (unsigned h = h0; h < 24; ++h) {
    if (!cron.matches_hour(h)) continue;
    for (unsigned m = h == h0 ? m0 : 0; m < 60; ++m) {
      if (!cron.matches_minute(m)) continue;
      for (unsigned s = (h == h0 && m == m0) ? s0 : 0; s < 60; ++s) {
        if (cron.matches_second(s)) return seconds{h * 3600 + m * 60 + s};
      }
    }
  }
  return std::nullopt;
}

/// The first local (wall-clock) time at or after `from` matching every field, ignoring time
/// zones, or nullopt once the search passes the year `limit`.
std::optional<date::local_seconds> next_local_match(const CronExpression& cron,
                                                    date::local_seconds from, date::year limit) {
  date::local_days day = std::chrono::floor<date::days>(from);
  seconds tod = from - day;
  while (true) {
    const date::year_month_day ymd{day};
    if (ymd.year() > limit) return std::nullopt;
    if (!cron.matches_month(static_cast<unsigned>(ymd.month()))) {
      const date::year_month next_month = ymd.year() / ymd.month() + date::months{1};
      day = date::local_days{next_month / 1};
      tod = seconds{0};
      continue;
    }
    if (cron.matches_date(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                          static_cast<unsigned>(ymd.day()))) {
      if (auto t = first_time_of_day(cron, tod)) return day + *t;
    }
    day += date::days{1};
    tod = seconds{0};
  }
}

date::local_seconds local_at(date::sys_seconds instant, seconds offset) {
  return date::local_seconds{instant.time_since_epoch() + offset};
}

}  // namespace

CronSchedule::CronSchedule(std::string expression, std::string time_zone, CronExpression fields,
                           const date::time_zone* zone)
    : expression_(std::move(expression)),
      time_zone_(std::move(time_zone)),
      fields_(std::move(fields)),
      zone_(zone) {}

CronSchedule CronSchedule::parse(std::string_view expression, std::string_view time_zone) {
  CronExpression fields = CronExpression::parse(expression);
  const date::time_zone* zone = nullptr;
  if (!time_zone.empty()) {
    try {
      zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
      zone = nullptr;
    }
  }
  if (zone == nullptr) {
    throw Error(ErrorCode::kConfig,
                "unknown time zone '" + std::string(time_zone) +
                    "': use an IANA zone name such as Asia/Kolkata, Europe/Berlin or UTC "
                    "(the system time-zone database, package tzdata, must be installed)");
  }
  CronSchedule schedule(std::string(expression), std::string(time_zone), std::move(fields), zone);
  // A calendar repeats every 400 years, so a search of that long from any instant finds a fire
  // time of every expression that can ever fire. One that cannot (31 February) is refused
  // here rather than left to a service that would wait for ever.
  if (!schedule.next_after(SystemTime{})) {
    throw Error(ErrorCode::kConfig,
                "'" + std::string(expression) +
                    "' never fires: no date matches its day-of-month, month and day-of-week "
                    "fields together (e.g. 31 February); check those fields");
  }
  return schedule;
}

std::optional<SystemTime> CronSchedule::next_after(SystemTime after) const {
  // Work on wall-clock times in the zone, then map each match back to an instant: a match in
  // a DST gap does not exist and is skipped; a match in a DST overlap fires at its first
  // occurrence only, so a match whose first occurrence is not after `after` is skipped too.
  const date::sys_seconds after_s = std::chrono::floor<seconds>(after);
  const date::local_seconds local_after = zone_->to_local(after_s);
  const date::year limit =
      date::year_month_day{std::chrono::floor<date::days>(local_after)}.year() +
      date::years{kSearchYears};
  date::local_seconds from = local_after + seconds{1};
  for (int step = 0; step < kMaxResolutionSteps; ++step) {
    std::optional<date::local_seconds> match = next_local_match(fields_, from, limit);
    if (!match) return std::nullopt;
    const date::local_info info = zone_->get_info(*match);
    switch (info.result) {
      case date::local_info::unique: {
        const date::sys_seconds instant{match->time_since_epoch() - info.first.offset};
        if (instant > after_s) return instant;
        from = *match + seconds{1};
        break;
      }
      case date::local_info::nonexistent:
        // Resume at the first wall-clock time after the gap.
        from = local_at(info.second.begin, info.second.offset);
        break;
      case date::local_info::ambiguous: {
        const date::sys_seconds first{match->time_since_epoch() - info.first.offset};
        if (first > after_s) return first;
        // `after` lies in the repeated hour's second pass; skip past the repetition.
        from = local_at(info.first.end, info.first.offset);
        break;
      }
    }
  }
  return std::nullopt;
}

std::string CronSchedule::describe(SystemTime instant) const {
  const date::zoned_seconds local{zone_, std::chrono::floor<seconds>(instant)};
  return date::format("%FT%T%Ez", local) + " (" + format_iso8601(instant) + ")";
}

}  // namespace user_export
