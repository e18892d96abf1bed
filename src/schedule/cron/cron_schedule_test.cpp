#include "schedule/cron/cron_schedule.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace user_export {
namespace {

SystemTime at(const std::string& iso) {
  auto t = parse_iso8601(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(SystemTime{});
}

/// The next `n` fire times after `from`, as UTC ISO 8601 text ("none" once there is none).
std::vector<std::string> next_utc(const CronSchedule& schedule, const std::string& from, int n) {
  std::vector<std::string> out;
  SystemTime t = at(from);
  for (int i = 0; i < n; ++i) {
    auto next = schedule.next_after(t);
    if (!next) {
      out.emplace_back("none");
      break;
    }
    out.push_back(format_iso8601(*next));
    t = *next;
  }
  return out;
}

/// Like next_utc but in describe() form.
std::vector<std::string> next_described(const CronSchedule& schedule, const std::string& from,
                                        int n) {
  std::vector<std::string> out;
  SystemTime t = at(from);
  for (int i = 0; i < n; ++i) {
    auto next = schedule.next_after(t);
    if (!next) break;
    out.push_back(schedule.describe(*next));
    t = *next;
  }
  return out;
}

using S = std::vector<std::string>;

TEST(CronScheduleTest, DefaultScheduleInKolkata) {
  auto schedule = CronSchedule::parse("0 59 20 * * *", "Asia/Kolkata");
  EXPECT_EQ(schedule.expression(), "0 59 20 * * *");
  EXPECT_EQ(schedule.time_zone(), "Asia/Kolkata");
  EXPECT_EQ(next_described(schedule, "2026-11-25T00:00:00Z", 2),
            (S{"2026-11-25T20:59:00+05:30 (2026-11-25T15:29:00Z)",
               "2026-11-26T20:59:00+05:30 (2026-11-26T15:29:00Z)"}));
}

TEST(CronScheduleTest, NextIsStrictlyAfter) {
  auto schedule = CronSchedule::parse("0 59 20 * * *", "Asia/Kolkata");
  EXPECT_EQ(format_iso8601(*schedule.next_after(at("2026-11-25T15:29:00Z"))),
            "2026-11-26T15:29:00Z");
  EXPECT_EQ(format_iso8601(*schedule.next_after(at("2026-11-25T15:28:59.999Z"))),
            "2026-11-25T15:29:00Z");
  EXPECT_EQ(format_iso8601(*schedule.next_after(at("2026-11-25T15:29:00.001Z"))),
            "2026-11-26T15:29:00Z");
}

TEST(CronScheduleTest, SecondsMinutesAndRollovers) {
  auto every = CronSchedule::parse("*/20 * * * * *", "UTC");
  EXPECT_EQ(next_utc(every, "2026-12-31T23:59:30Z", 3),
            (S{"2026-12-31T23:59:40Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:20Z"}));
  auto monthly = CronSchedule::parse("@monthly", "UTC");
  EXPECT_EQ(next_utc(monthly, "2026-11-25T00:00:00Z", 2),
            (S{"2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"}));
  auto weekly = CronSchedule::parse("@weekly", "UTC");
  EXPECT_EQ(next_utc(weekly, "2026-11-25T00:00:00Z", 1), (S{"2026-11-29T00:00:00Z"}));
  auto hourly = CronSchedule::parse("@hourly", "UTC");
  EXPECT_EQ(next_utc(hourly, "2026-11-25T23:00:00Z", 1), (S{"2026-11-26T00:00:00Z"}));
  auto yearly = CronSchedule::parse("@yearly", "UTC");
  EXPECT_EQ(next_utc(yearly, "2026-11-25T00:00:00Z", 1), (S{"2027-01-01T00:00:00Z"}));
}

// An expression that can never fire would leave the service waiting for ever: it is refused.
TEST(CronScheduleTest, ImpossibleDatesAreRefused) {
  for (const char* never :
       {"0 0 0 30 2 *", "0 0 0 31 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 30 2 MON", "0 0 0 31 2 ?"}) {
    try {
      (void)CronSchedule::parse(never, "Europe/Berlin");
      ADD_FAILURE() << never << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_NE(std::string(e.what()).find("never fires"), std::string::npos) << e.what();
    }
  }
  // Rare but possible dates are accepted.
  for (const char* rare : {"0 0 0 29 2 *", "0 0 0 29 2 MON", "0 0 0 ? 2 MON#5", "0 0 0 L 2 ?"}) {
    EXPECT_NO_THROW((void)CronSchedule::parse(rare, "UTC")) << rare;
  }
}

TEST(CronScheduleTest, RareDatesAreFoundYearsAhead) {
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 29 2 *", "UTC"), "2026-11-25T00:00:00Z", 2),
            (S{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
  // 29 February on a Monday: 2044 is the next.
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 29 2 MON", "UTC"), "2026-11-25T00:00:00Z", 1),
            (S{"2044-02-29T00:00:00Z"}));
  // A fifth Monday in February needs a leap year starting on a Monday.
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 ? 2 MON#5", "UTC"), "2026-11-25T00:00:00Z", 1),
            (S{"2044-02-29T00:00:00Z"}));
  // Across a century that is not a leap year.
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 29 2 *", "UTC"), "2096-03-01T00:00:00Z", 1),
            (S{"2104-02-29T00:00:00Z"}));
}

TEST(CronScheduleTest, SpringExamplesGiveSpringResults) {
  // Cases from Spring's own CronExpression tests, in UTC.
  EXPECT_EQ(next_utc(CronSchedule::parse("3-57 13-28 17,18 1,15 3-12 6#1", "UTC"),
                     "2022-09-15T17:44:11Z", 1),
            (S{"2022-10-01T17:13:03Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("*/28 56 22 */6 * *", "UTC"), "2022-02-27T08:00:42Z", 1),
            (S{"2022-03-01T22:56:00Z"}));
  // One deliberate difference: when n is the month's last day and a Sunday (2020-05-31),
  // nW stays in the month (Friday the 29th, Quartz's rule); Spring skips that month.
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 31W * ?", "UTC"), "2020-01-01T00:00:00Z", 7),
            (S{"2020-01-31T00:00:00Z", "2020-03-31T00:00:00Z", "2020-05-29T00:00:00Z",
               "2020-07-31T00:00:00Z", "2020-08-31T00:00:00Z", "2020-10-30T00:00:00Z",
               "2020-12-31T00:00:00Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 1W,15,LW * ?", "UTC"), "2019-12-30T00:00:00Z", 4),
            (S{"2019-12-31T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-15T00:00:00Z",
               "2020-01-31T00:00:00Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 ? * 3#5", "UTC"), "2020-01-01T00:00:00Z", 5),
            (S{"2020-01-29T00:00:00Z", "2020-04-29T00:00:00Z", "2020-07-29T00:00:00Z",
               "2020-09-30T00:00:00Z", "2020-12-30T00:00:00Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 * ? * FRIL", "UTC"), "2021-01-28T00:01:00Z", 2),
            (S{"2021-01-29T00:00:00Z", "2021-01-29T01:00:00Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("0 0 0 ? * SUN-FRI", "UTC"), "2021-02-25T15:00:00Z", 2),
            (S{"2021-02-26T00:00:00Z", "2021-02-28T00:00:00Z"}));
  EXPECT_EQ(next_utc(CronSchedule::parse("0 30 23 30 1/3 ?", "UTC"), "2010-12-30T12:00:00Z", 2),
            (S{"2011-01-30T23:30:00Z", "2011-04-30T23:30:00Z"}));
}

TEST(CronScheduleTest, SpringDaylightSavingExamples) {
  // Spring skips a wall-clock time that does not exist that day.
  EXPECT_EQ(next_described(CronSchedule::parse("0 10 2 * * *", "Europe/Amsterdam"),
                           "2013-03-31T00:09:00Z", 1),
            (S{"2013-04-01T02:10:00+02:00 (2013-04-01T00:10:00Z)"}));
  EXPECT_EQ(next_described(CronSchedule::parse("0 0 9 * * *", "Europe/Amsterdam"),
                           "2021-03-27T08:00:00Z", 1),
            (S{"2021-03-28T09:00:00+02:00 (2021-03-28T07:00:00Z)"}));
  EXPECT_EQ(next_described(CronSchedule::parse("0 5 0 * * *", "Europe/Amsterdam"),
                           "2021-03-28T00:00:00Z", 1),
            (S{"2021-03-29T00:05:00+02:00 (2021-03-28T22:05:00Z)"}));
}

TEST(CronScheduleTest, BerlinSpringForwardSkipsTheMissingHour) {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
  auto hourly = CronSchedule::parse("0 0 * * * *", "Europe/Berlin");
  EXPECT_EQ(next_described(hourly, "2026-03-28T23:30:00Z", 3),
            (S{"2026-03-29T01:00:00+01:00 (2026-03-29T00:00:00Z)",
               "2026-03-29T03:00:00+02:00 (2026-03-29T01:00:00Z)",
               "2026-03-29T04:00:00+02:00 (2026-03-29T02:00:00Z)"}));
  auto daily = CronSchedule::parse("0 30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(next_described(daily, "2026-03-27T12:00:00Z", 2),
            (S{"2026-03-28T02:30:00+01:00 (2026-03-28T01:30:00Z)",
               "2026-03-30T02:30:00+02:00 (2026-03-30T00:30:00Z)"}));
  // Every 15 minutes: nothing between 02:00 and 03:00 local.
  auto quarter = CronSchedule::parse("0 */15 * * * *", "Europe/Berlin");
  EXPECT_EQ(next_utc(quarter, "2026-03-29T00:40:00Z", 3),
            (S{"2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"}));
}

TEST(CronScheduleTest, BerlinFallBackFiresTheRepeatedHourOnce) {
  // 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00Z); 02:xx happens twice.
  auto hourly = CronSchedule::parse("0 0 * * * *", "Europe/Berlin");
  EXPECT_EQ(next_described(hourly, "2026-10-24T23:30:00Z", 3),
            (S{"2026-10-25T02:00:00+02:00 (2026-10-25T00:00:00Z)",
               "2026-10-25T03:00:00+01:00 (2026-10-25T02:00:00Z)",
               "2026-10-25T04:00:00+01:00 (2026-10-25T03:00:00Z)"}));
  auto daily = CronSchedule::parse("0 30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(next_described(daily, "2026-10-24T12:00:00Z", 2),
            (S{"2026-10-25T02:30:00+02:00 (2026-10-25T00:30:00Z)",
               "2026-10-26T02:30:00+01:00 (2026-10-26T01:30:00Z)"}));
  // Asked during the second pass (02:15 CET), the repeated 02:30 does not fire again.
  EXPECT_EQ(next_utc(daily, "2026-10-25T01:15:00Z", 1), (S{"2026-10-26T01:30:00Z"}));
  auto quarter = CronSchedule::parse("0 */15 * * * *", "Europe/Berlin");
  EXPECT_EQ(next_utc(quarter, "2026-10-25T01:15:00Z", 1), (S{"2026-10-25T02:00:00Z"}));
  EXPECT_EQ(next_utc(quarter, "2026-10-25T00:40:00Z", 3),
            (S{"2026-10-25T00:45:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:15:00Z"}));
}

TEST(CronScheduleTest, NewYorkSpringForwardSkipsTheMissingHour) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
  auto hourly = CronSchedule::parse("@hourly", "America/New_York");
  EXPECT_EQ(next_described(hourly, "2026-03-08T05:30:00Z", 3),
            (S{"2026-03-08T01:00:00-05:00 (2026-03-08T06:00:00Z)",
               "2026-03-08T03:00:00-04:00 (2026-03-08T07:00:00Z)",
               "2026-03-08T04:00:00-04:00 (2026-03-08T08:00:00Z)"}));
  auto daily = CronSchedule::parse("0 30 2 * * *", "America/New_York");
  EXPECT_EQ(next_described(daily, "2026-03-07T12:00:00Z", 1),
            (S{"2026-03-09T02:30:00-04:00 (2026-03-09T06:30:00Z)"}));
}

TEST(CronScheduleTest, NewYorkFallBackFiresTheRepeatedHourOnce) {
  // 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00Z); 01:xx happens twice.
  auto hourly = CronSchedule::parse("0 0 * * * *", "America/New_York");
  EXPECT_EQ(next_described(hourly, "2026-11-01T04:30:00Z", 3),
            (S{"2026-11-01T01:00:00-04:00 (2026-11-01T05:00:00Z)",
               "2026-11-01T02:00:00-05:00 (2026-11-01T07:00:00Z)",
               "2026-11-01T03:00:00-05:00 (2026-11-01T08:00:00Z)"}));
  auto daily = CronSchedule::parse("0 30 1 * * *", "America/New_York");
  EXPECT_EQ(next_described(daily, "2026-10-31T12:00:00Z", 2),
            (S{"2026-11-01T01:30:00-04:00 (2026-11-01T05:30:00Z)",
               "2026-11-02T01:30:00-05:00 (2026-11-02T06:30:00Z)"}));
  EXPECT_EQ(next_utc(daily, "2026-11-01T06:10:00Z", 1), (S{"2026-11-02T06:30:00Z"}));
}

TEST(CronScheduleTest, UnknownZoneIsAConfigError) {
  for (const char* zone : {"Mars/Olympus_Mons", "", "asia/kolkata_x"}) {
    try {
      CronSchedule::parse("0 59 20 * * *", zone);
      ADD_FAILURE() << "accepted zone '" << zone << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_NE(std::string(e.what()).find("unknown time zone '" + std::string(zone) + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(CronScheduleTest, InvalidExpressionIsReportedBeforeTheZone) {
  try {
    CronSchedule::parse("0 61 20 * * *", "Asia/Kolkata");
    ADD_FAILURE() << "accepted minute 61";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("minute field '61'"), std::string::npos) << e.what();
  }
}

TEST(CronScheduleTest, DescribeUsesTheZoneOffsetAndUtc) {
  auto utc = CronSchedule::parse("@daily", "UTC");
  EXPECT_EQ(utc.describe(at("2026-11-25T00:00:00Z")),
            "2026-11-25T00:00:00+00:00 (2026-11-25T00:00:00Z)");
  auto kathmandu = CronSchedule::parse("@daily", "Asia/Kathmandu");
  EXPECT_EQ(kathmandu.describe(at("2026-11-24T18:15:00Z")),
            "2026-11-25T00:00:00+05:45 (2026-11-24T18:15:00Z)");
}

}  // namespace
}  // namespace user_export
