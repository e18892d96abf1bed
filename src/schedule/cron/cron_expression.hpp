#pragma once

#include <bitset>
#include <string_view>
#include <vector>

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

  /// A day-of-month list item that depends on the month (`L`, `L-n`, `nW`, `LW`).
  struct DayOfMonthRule {
    /// Which kind of item.
    enum class Kind { kLastDay, kNearestWeekday, kLastWeekday } kind;
    unsigned value;  ///< `n` of `L-n` or `nW`
  };
  /// A day-of-week list item that depends on the month (`dL`, `d#n`).
  struct DayOfWeekRule {
    /// Which kind of item.
    enum class Kind { kLastInMonth, kNthInMonth } kind;
    unsigned weekday;  ///< 0 = Sunday ... 6 = Saturday
    unsigned nth;      ///< `n` of `d#n` (1-5)
  };

 private:
  bool matches_day_of_month(int year, unsigned month, unsigned day) const;
  bool matches_day_of_week(int year, unsigned month, unsigned day) const;

  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  ///< bits 1-31
  std::bitset<13> months_;         ///< bits 1-12
  std::bitset<7> days_of_week_;    ///< bit 0 = Sunday ... bit 6 = Saturday
  std::vector<DayOfMonthRule> day_of_month_rules_;
  std::vector<DayOfWeekRule> day_of_week_rules_;
};

}  // namespace user_export
