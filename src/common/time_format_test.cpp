#include "common/time_format.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(TimeFormat, FormatsAndParsesUtc) {
  SystemTime t = SystemTime{std::chrono::seconds{1'764'104'340}} + std::chrono::milliseconds{45};
  EXPECT_EQ(format_iso8601(t), "2025-11-25T20:59:00Z");
  EXPECT_EQ(format_iso8601_ms(t), "2025-11-25T20:59:00.045Z");
  EXPECT_EQ(parse_iso8601("2025-11-25T20:59:00.045Z"), t);
  EXPECT_EQ(parse_iso8601("2025-11-25T20:59:00Z"), std::chrono::floor<std::chrono::seconds>(t));
}

TEST(TimeFormat, RejectsMalformed) {
  for (const char* bad :
       {"", "2025-11-25", "2025-11-25T20:59:00", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z",
        "2025-11-25T20:59:00+01:00", "2025-11-25T20:59:00.Z", "2999-01-01T00:00:00Z",
        "1000-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace user_export
