#include "common/utf8.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

std::string fixed(std::string_view in) {
  std::string out;
  replace_invalid_utf8(in, out);
  return out;
}

TEST(Utf8, ValidTextIsAcceptedAndCopiedUnchanged) {
  for (std::string_view ok : {"", "plain ascii text longer than eight", "Zoë", "São Paulo", "東京",
                              "emoji \xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(is_valid_utf8(ok)) << ok;
    EXPECT_EQ(fixed(ok), ok);
  }
}

TEST(Utf8, IllFormedSequencesAreRejected) {
  for (std::string_view bad : {"caf\xE9", "\xFF", "\xC3\x28", "\xC0\xAF", "\xED\xA0\x80",
                               "\xF4\x90\x80\x80", "\xE2\x82", "ascii ascii \x80"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
    EXPECT_TRUE(is_valid_utf8(fixed(bad))) << bad;
  }
}

TEST(Utf8, EachMaximalIllFormedSubpartBecomesOneReplacementCharacter) {
  EXPECT_EQ(fixed("caf\xE9 ok"), "caf\xEF\xBF\xBD ok");
  EXPECT_EQ(fixed("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(fixed("\xC3\x28"), "\xEF\xBF\xBD(");
  EXPECT_EQ(fixed("a\xE2\x82"
                  "b"),
            "a\xEF\xBF\xBD"
            "b");  // truncated 3-byte sequence: one
}

}  // namespace
}  // namespace user_export
