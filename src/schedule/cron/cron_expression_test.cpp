#include "schedule/cron/cron_expression.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "common/error.hpp"

namespace user_export {
namespace {

std::vector<unsigned> seconds_of(const CronExpression& cron) {
  std::vector<unsigned> out;
  for (unsigned s = 0; s < 60; ++s) {
    if (cron.matches_second(s)) out.push_back(s);
  }
  return out;
}

std::vector<unsigned> months_of(const CronExpression& cron) {
  std::vector<unsigned> out;
  for (unsigned m = 1; m <= 12; ++m) {
    if (cron.matches_month(m)) out.push_back(m);
  }
  return out;
}

/// Days of `year`-`month` that match the day fields.
std::vector<unsigned> days_of(const CronExpression& cron, int year, unsigned month) {
  static const unsigned kLengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned length = kLengths[month - 1];
  if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) length = 29;
  std::vector<unsigned> out;
  for (unsigned d = 1; d <= length; ++d) {
    if (cron.matches_date(year, month, d)) out.push_back(d);
  }
  return out;
}

using V = std::vector<unsigned>;

TEST(CronExpressionTest, ListsRangesAndSteps) {
  EXPECT_EQ(seconds_of(CronExpression::parse("5,10-12,*/20 * * * * *")),
            (V{0, 5, 10, 11, 12, 20, 40}));
  EXPECT_EQ(seconds_of(CronExpression::parse("7/15 * * * * *")), (V{7, 22, 37, 52}));
  EXPECT_EQ(seconds_of(CronExpression::parse("10-30/10 * * * * *")), (V{10, 20, 30}));
  EXPECT_EQ(seconds_of(CronExpression::parse("59 * * * * *")), (V{59}));
  auto cron = CronExpression::parse("0 0-5/5 9-17 * * *");
  EXPECT_TRUE(cron.matches_minute(0));
  EXPECT_TRUE(cron.matches_minute(5));
  EXPECT_FALSE(cron.matches_minute(1));
  EXPECT_FALSE(cron.matches_hour(8));
  EXPECT_TRUE(cron.matches_hour(9));
  EXPECT_TRUE(cron.matches_hour(17));
  EXPECT_FALSE(cron.matches_hour(18));
}

TEST(CronExpressionTest, MonthNamesAreCaseInsensitive) {
  EXPECT_EQ(months_of(CronExpression::parse("0 0 0 1 jan,Mar-MAY *")), (V{1, 3, 4, 5}));
  EXPECT_EQ(months_of(CronExpression::parse("0 0 0 1 */4 *")), (V{1, 5, 9}));
  EXPECT_EQ(months_of(CronExpression::parse("0 0 0 1 NOV-DEC *")), (V{11, 12}));
}

TEST(CronExpressionTest, DayOfWeekZeroAndSevenAreSunday) {
  // November 2026: the 1st is a Sunday.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * 0"), 2026, 11), (V{1, 8, 15, 22, 29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * 7"), 2026, 11), (V{1, 8, 15, 22, 29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * sun"), 2026, 11), (V{1, 8, 15, 22, 29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * MON"), 2026, 11), (V{2, 9, 16, 23, 30}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * 1"), 2026, 11), (V{2, 9, 16, 23, 30}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * Sat,sun"), 2026, 11),
            (V{1, 7, 8, 14, 15, 21, 22, 28, 29}));
  // SUN at the start of a range is 0, as in Spring: SUN-FRI is every day but Saturday.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * SUN-FRI"), 2026, 11).size(), 30u - 4u);
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * SAT-SUN"), 2026, 11),
            (V{1, 7, 8, 14, 15, 21, 22, 28, 29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * MON-FRI"), 2026, 11).size(), 21u);
}

TEST(CronExpressionTest, QuestionMarkMeansAny) {
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * *"), 2026, 2).size(), 28u);
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 * * ?"), 2028, 2).size(), 29u);
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * ?"), 2026, 11).size(), 30u);
}

TEST(CronExpressionTest, LastDayAndOffsets) {
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 L * *"), 2026, 2), (V{28}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 L * *"), 2028, 2), (V{29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 l * *"), 2026, 11), (V{30}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 L-2 * *"), 2026, 12), (V{29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 L-1 * *"), 2026, 2), (V{27}));
}

TEST(CronExpressionTest, NearestWeekday) {
  // 2026-08-01 is a Saturday: 1W moves forward to Monday the 3rd, never into July.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 1W * *"), 2026, 8), (V{3}));
  // 2026-11-15 is a Sunday: 15W is Monday the 16th; 14W (Saturday) is Friday the 13th.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 15W * *"), 2026, 11), (V{16}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 14W * *"), 2026, 11), (V{13}));
  // 2026-05-31 is a Sunday: 31W moves back to Friday the 29th.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 31W * *"), 2026, 5), (V{29}));
  // A weekday stays; a day the month does not have selects nothing.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 25w * *"), 2026, 11), (V{25}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 31W * *"), 2026, 11), (V{}));
}

TEST(CronExpressionTest, LastWeekday) {
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 LW * *"), 2026, 10), (V{30}));  // 31st Sat
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 LW * *"), 2026, 5), (V{29}));   // 31st Sun
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 LW * *"), 2026, 11), (V{30}));  // Monday
}

TEST(CronExpressionTest, LastAndNthWeekdayOfMonth) {
  // November 2026 Fridays: 6, 13, 20, 27.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * 5L"), 2026, 11), (V{27}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * friL"), 2026, 11), (V{27}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * 5#3"), 2026, 11), (V{20}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * FRI#1"), 2026, 11), (V{6}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * 5#5"), 2026, 11), (V{}));
  // Sunday as 7 and 0: 2026-11-29 is the last Sunday.
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * 7L"), 2026, 11), (V{29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * 0#1"), 2026, 11), (V{1}));
}

TEST(CronExpressionTest, SpecialItemsMixWithPlainItemsInLists) {
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 1W,15,LW * ?"), 2026, 8), (V{3, 15, 31}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * THU#1,THU#3,THU#5"), 2026, 10),
            (V{1, 15, 29}));
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 ? * MON,5L"), 2026, 11),
            (V{2, 9, 16, 23, 27, 30}));
}

TEST(CronExpressionTest, DayOfMonthAndDayOfWeekMustBothMatch) {
  // Spring ANDs the two fields (classic cron ORs them): Friday the 13th only.
  auto cron = CronExpression::parse("0 0 0 13 * FRI");
  EXPECT_EQ(days_of(cron, 2026, 11), (V{13}));
  EXPECT_EQ(days_of(cron, 2026, 12), (V{}));  // the 13th is a Sunday
  EXPECT_EQ(days_of(CronExpression::parse("0 0 0 1-7 * MON"), 2026, 11), (V{2}));
}

TEST(CronExpressionTest, MacrosExpandToSixFields) {
  auto yearly = CronExpression::parse("@yearly");
  EXPECT_EQ(months_of(yearly), (V{1}));
  EXPECT_EQ(days_of(yearly, 2026, 1), (V{1}));
  EXPECT_EQ(seconds_of(yearly), (V{0}));
  EXPECT_FALSE(yearly.matches_hour(1));
  EXPECT_EQ(months_of(CronExpression::parse("@annually")), (V{1}));
  auto monthly = CronExpression::parse("@monthly");
  EXPECT_EQ(months_of(monthly).size(), 12u);
  EXPECT_EQ(days_of(monthly, 2026, 11), (V{1}));
  EXPECT_EQ(days_of(CronExpression::parse("@weekly"), 2026, 11), (V{1, 8, 15, 22, 29}));
  for (const char* daily : {"@daily", "@midnight", " @DAILY "}) {
    auto cron = CronExpression::parse(daily);
    EXPECT_EQ(days_of(cron, 2026, 11).size(), 30u) << daily;
    EXPECT_TRUE(cron.matches_hour(0)) << daily;
    EXPECT_FALSE(cron.matches_hour(12)) << daily;
  }
  auto hourly = CronExpression::parse("@hourly");
  EXPECT_TRUE(hourly.matches_hour(13));
  EXPECT_TRUE(hourly.matches_minute(0));
  EXPECT_FALSE(hourly.matches_minute(30));
}

/// Asserts that parsing `expression` fails with a config error whose message names `field`
/// and contains `reason`.
void expect_rejected(const std::string& expression, const std::string& field,
                     const std::string& reason) {
  try {
    CronExpression::parse(expression);
    ADD_FAILURE() << "accepted: " << expression;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig) << expression;
    std::string message = e.what();
    EXPECT_NE(message.find(field + " field"), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

TEST(CronExpressionTest, InvalidFieldsAreRejectedNamingTheFieldAndReason) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"60 * * * * *", "second", "value 60 is out of range (expected 0-59)"},
      {"x * * * * *", "second", "'x' is not a number or name"},
      {"*/0 * * * * *", "second", "step '0' must be a whole number from 1"},
      {"1,,2 * * * * *", "second", "a list item is empty"},
      {"? * * * * *", "second", "'?' is not a number"},
      {"0 60 * * * *", "minute", "value 60 is out of range"},
      {"0 30-10 * * * *", "minute", "range 30-10 is reversed"},
      {"0 0 24 * * *", "hour", "value 24 is out of range (expected 0-23)"},
      {"0 0 1- * * *", "hour", "a value is missing"},
      {"0 0 0 0 * *", "day-of-month", "value 0 is out of range (expected 1-31)"},
      {"0 0 0 32 * *", "day-of-month", "value 32 is out of range"},
      {"0 0 0 L-31 * *", "day-of-month", "offset of L-n '31' must be a whole number"},
      {"0 0 0 32W * *", "day-of-month", "day of nW '32' must be a whole number from 1 to 31"},
      {"0 0 0 L/2 * *", "day-of-month", "is not L, L-n, LW or nW"},
      {"0 0 0 1? * *", "day-of-month", "'?' must be the whole field"},
      {"0 0 0 1 13 *", "month", "value 13 is out of range (expected 1-12 or a name JAN-DEC)"},
      {"0 0 0 1 FOO *", "month", "'FOO' is not a number or name"},
      {"0 0 0 1 0 *", "month", "value 0 is out of range"},
      {"0 0 0 * * 8", "day-of-week", "value 8 is out of range (expected 0-7 or a name MON-SUN)"},
      {"0 0 0 * * FRI-MON", "day-of-week", "range 5-1 is reversed"},
      {"0 0 0 * * L", "day-of-week", "'L' needs a day before it"},
      {"0 0 0 * * 5#6", "day-of-week", "n of d#n '6' must be a whole number from 1 to 5"},
      {"0 0 0 * * XYZ#1", "day-of-week", "'XYZ' is not a number or name"},
  };
  for (const auto& [expression, field, reason] : cases) expect_rejected(expression, field, reason);
}

TEST(CronExpressionTest, WrongFieldCountOrUnknownMacroIsRejected) {
  for (const char* bad : {"", "   ", "* * * * *", "* * * * * * *", "0 59 20"}) {
    try {
      CronExpression::parse(bad);
      ADD_FAILURE() << "accepted: '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_NE(std::string(e.what()).find("expected six"), std::string::npos) << e.what();
    }
  }
  try {
    CronExpression::parse("@often");
    ADD_FAILURE() << "accepted @often";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("unknown macro '@often'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace user_export
