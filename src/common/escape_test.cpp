#include "common/escape.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(Escape, QuotesBackslashesAndControlCharactersAreEscapedTheRestCopied) {
  std::string out = "x=";
  const char in[] = "a\"b\\c\nd\re\tf\x01g\x7fh Zo\xc3\xab";
  append_escaped(out, std::string_view(in, sizeof in - 1));
  EXPECT_EQ(out, "x=a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh Zo\xc3\xab");
}

}  // namespace
}  // namespace user_export
