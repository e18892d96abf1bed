#include "domain/ids.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_set>

#include "common/error.hpp"
#include "domain/group.hpp"

namespace user_export {
namespace {

// A run id and an owner are made from text only when the code says so, and never from each
// other: passing one where the other is expected does not compile.
static_assert(!std::is_convertible_v<std::string, RunId>);
static_assert(!std::is_convertible_v<const char*, RunId>);
static_assert(!std::is_convertible_v<std::string, OwnerId>);
static_assert(!std::is_constructible_v<RunId, OwnerId>);
static_assert(!std::is_constructible_v<OwnerId, RunId>);
static_assert(!std::is_convertible_v<RunId, std::string>);
static_assert(std::is_constructible_v<RunId, std::string>);
static_assert(std::is_nothrow_move_constructible_v<RunId>);

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

TEST(TextIds, KeepTheirTextAsGiven) {
  const RunId run("3F2504E0-4F89-11D3-9A0C-0305E82C3301");
  EXPECT_EQ(run.str(), "3F2504E0-4F89-11D3-9A0C-0305E82C3301");
  EXPECT_EQ(run.view(), "3F2504E0-4F89-11D3-9A0C-0305E82C3301");
  EXPECT_EQ(to_string(run), run.str());
  std::ostringstream out;
  out << OwnerId("host:42");
  EXPECT_EQ(out.str(), "host:42");
  EXPECT_TRUE(RunId().empty());
  EXPECT_FALSE(OwnerId("x").empty());
}

TEST(TextIds, CompareOrderAndHashByText) {
  EXPECT_EQ(OwnerId("a"), OwnerId(std::string("a")));
  EXPECT_NE(OwnerId("a"), OwnerId("b"));
  EXPECT_LT(RunId("1"), RunId("2"));
  std::map<RunId, int> by_run{{RunId("b"), 2}, {RunId("a"), 1}};
  EXPECT_EQ(by_run.begin()->first, RunId("a"));
  std::unordered_set<OwnerId> owners{OwnerId("a"), OwnerId("a"), OwnerId("b")};
  EXPECT_EQ(owners.size(), 2u);
  EXPECT_EQ(std::hash<RunId>{}(RunId("a")), std::hash<RunId>{}(RunId("a")));
}

TEST(TextIds, ARunIdFromAPersonIsCheckedAndMadeCanonical) {
  EXPECT_EQ(RunId::parse("3F2504E0-4F89-11D3-9A0C-0305E82C3301").str(),
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  try {
    RunId::parse("not-a-run");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_EQ(std::string(e.what()),
              "'not-a-run' is not a run id: a run id is a UUID such as the runId of a message or "
              "of `user-export runs`");
  }
  EXPECT_THROW(RunId::parse(""), Error);
}

}  // namespace
}  // namespace user_export
