#include "common/uuid.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace user_export {
namespace {

TEST(Uuid, ParsesCanonicalFormAndPrintsLowerCase) {
  auto id = Uuid::parse("3F2504E0-4F89-11D3-9A0C-0305E82C3301");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->str(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

TEST(Uuid, RejectsMalformedText) {
  for (const char* bad :
       {"", "not-a-uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c330",
        "3f2504e0-4f89-11d3-9a0c-0305e82c33012", "3f2504e04f8911d39a0c0305e82c3301",
        "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}", " 3f2504e0-4f89-11d3-9a0c-0305e82c330",
        "3f2504e0-4f89-11d3-9a0c-0305e82c33g1", "3f2504e0_4f89-11d3-9a0c-0305e82c3301"}) {
    EXPECT_FALSE(Uuid::parse(bad).has_value()) << bad;
  }
}

TEST(Uuid, RandomIsVersion4AndRoundTrips) {
  testing::FakeRandom random(7);
  Uuid a = Uuid::random(random);
  Uuid b = Uuid::random(random);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.str()[14], '4');
  EXPECT_EQ(Uuid::parse(a.str()), a);
  EXPECT_FALSE(a.is_nil());
  EXPECT_TRUE(Uuid::parse("00000000-0000-0000-0000-000000000000")->is_nil());
}

}  // namespace
}  // namespace user_export
