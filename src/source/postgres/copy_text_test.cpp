#include "source/postgres/copy_text.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace user_export::pg {
namespace {

using Fields = std::vector<std::optional<std::string_view>>;

Fields split(std::string& line, std::size_t count) {
  Fields fields(count);
  EXPECT_TRUE(split_copy_line(line.data(), line.size(), fields)) << line;
  return fields;
}

TEST(CopyText, SplitsPlainFieldsWithoutCopying) {
  std::string line = "1\tada\t\tx";
  Fields fields = split(line, 4);
  EXPECT_EQ(fields[0], "1");
  EXPECT_EQ(fields[1], "ada");
  EXPECT_EQ(fields[2], "");  // empty string, not NULL
  EXPECT_EQ(fields[3], "x");
  EXPECT_EQ(fields[1]->data(), line.data() + 2);  // a view into the line itself
}

TEST(CopyText, BackslashNIsNullButAnEscapedBackslashFollowedByNIsText) {
  std::string line = "\\N\t\\\\N\tN";
  Fields fields = split(line, 3);
  EXPECT_FALSE(fields[0].has_value());
  EXPECT_EQ(fields[1], "\\N");
  EXPECT_EQ(fields[2], "N");
}

TEST(CopyText, DecodesEveryEscape) {
  std::string line = "a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\tcaf\\303\\251\t\\x41\\x4a\\xZ\t\\q\\,";
  Fields fields = split(line, 4);
  EXPECT_EQ(fields[0], std::string_view("a\tb\nc\rd\\e\bf\fg\vh"));
  EXPECT_EQ(fields[1], "café");
  EXPECT_EQ(fields[2], "AJxZ");  // \x needs a hex digit, else it is a plain x
  EXPECT_EQ(fields[3], "q,");    // any other escaped character stands for itself
}

TEST(CopyText, OctalTakesAtMostThreeDigits) {
  std::string line = "\\1011\t\\7";
  Fields fields = split(line, 2);
  EXPECT_EQ(fields[0], "A1");
  EXPECT_EQ(fields[1], "\a");
}

TEST(CopyText, RejectsAWrongNumberOfFields) {
  std::string line = "a\tb\tc";
  Fields two(2);
  EXPECT_FALSE(split_copy_line(line.data(), line.size(), two));
  Fields four(4);
  EXPECT_FALSE(split_copy_line(line.data(), line.size(), four));
}

TEST(CopyText, EncodingRoundTripsHostileValues) {
  const std::vector<std::optional<std::string>> values = {std::nullopt,
                                                          "",
                                                          "\\N",
                                                          "tab\there",
                                                          "line\nfeed\r\nend",
                                                          "back\\slash\\",
                                                          "=1+2,\"q\"",
                                                          "emoji 😀 東京",
                                                          std::string(100 * 1024, 'x') + "\t\\"};
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += '\t';
    append_copy_value(line, values[i] ? std::optional<std::string_view>(*values[i]) : std::nullopt);
  }
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Fields fields = split(line, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(fields[i].has_value(), values[i].has_value()) << i;
    if (values[i]) {
      EXPECT_EQ(*fields[i], *values[i]) << i;
    }
  }
}

}  // namespace
}  // namespace user_export::pg
