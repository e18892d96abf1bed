#pragma once

#include <bitset>
#include <string_view>

namespace user_export {

/// The six fields of a Spring-style cron expression (second minute hour day-of-month month
/// day-of-week), parsed and independent of any time zone. A date matches when BOTH its
/// day-of-month and its day-of-week match (Spring's rule; `*` and `?` match everything).
class CronExpression {
 public:
  /// Parses six fields or a macro (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
  /// `@midnight`, `@hourly`); throws Error(kConfig) naming the field and the reason.
  static CronExpression parse(std::string_view expression);

  /// Whether second `s` (0-59) is selected.
  bool matches_second(unsigned s) const { return seconds_.test(s); }
  /// Whether minute `m` (0-59) is selected.
  bool matches_minute(unsigned m) const { return minutes_.test(m); }
  /// Whether hour `h` (0-23) is selected.
  bool matches_hour(unsigned h) const { return hours_.test(h); }
  /// Whether month `m` (1-12) is selected.
  bool matches_month(unsigned m) const { return months_.test(m); }
  /// Whether the valid civil date `year`-`month`-`day` matches day-of-month and day-of-week.
  bool matches_date(int year, unsigned month, unsigned day) const;

 private:
  /// How the day-of-month field selects days.
  enum class DayOfMonthRule {
    kSet,             ///< days in `days_of_month_`
    kLastDay,         ///< `L` / `L-n`: the last day minus `day_offset_`
    kNearestWeekday,  ///< `nW`: the weekday nearest to day `day_offset_` within the month
    kLastWeekday,     ///< `LW`: the last Monday-Friday of the month
  };
  /// How the day-of-week field selects days.
  enum class DayOfWeekRule {
    kSet,       ///< weekdays in `days_of_week_`
    kLast,      ///< `dL`: the last weekday `weekday_` of the month
    kNth,       ///< `d#n`: the `nth_`-th weekday `weekday_` of the month
  };

  bool matches_day_of_month(int year, unsigned month, unsigned day) const;
  bool matches_day_of_week(int year, unsigned month, unsigned day) const;

  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  ///< bits 1-31
  std::bitset<13> months_;         ///< bits 1-12
  std::bitset<7> days_of_week_;    ///< bit 0 = Sunday ... bit 6 = Saturday
  DayOfMonthRule day_of_month_rule_ = DayOfMonthRule::kSet;
  unsigned day_offset_ = 0;
  DayOfWeekRule day_of_week_rule_ = DayOfWeekRule::kSet;
  unsigned weekday_ = 0;  ///< 0 = Sunday
  unsigned nth_ = 0;      ///< 1-5
};

}  // namespace user_export
