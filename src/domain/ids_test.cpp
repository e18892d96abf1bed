#include "domain/ids.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "domain/group.hpp"

namespace user_export {
namespace {

TEST(Ids, ParseValidAndNormalise) {
  auto d = DomainId::parse("3F2504E0-4F89-11D3-9A0C-0305E82C3301");
  EXPECT_EQ(d.str(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

TEST(Ids, InvalidDomainIdNamesTheProblem) {
  try {
    DomainId::parse("abc");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("invalid domain id 'abc'"), std::string::npos);
  }
  EXPECT_THROW(GroupId::parse("00000000-0000-0000-0000-000000000000"), Error);
}

TEST(GroupTypeTest, UnknownTypeNamesGroupAndValue) {
  MatchingGroup g;
  g.id = GroupId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  g.type_name = "PREMIUM";
  try {
    (void)g.type();
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), std::string::npos);
    EXPECT_NE(msg.find("'PREMIUM'"), std::string::npos);
  }
  g.type_name = "NON_COST_BASED";
  EXPECT_EQ(g.type(), GroupType::kNonCostBased);
  EXPECT_FALSE(parse_group_type("cost_based").has_value());
}

}  // namespace
}  // namespace user_export
