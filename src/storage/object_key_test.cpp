#include <gtest/gtest.h>

#include "storage/object_store.hpp"

namespace user_export {
namespace {

const auto kDomain = DomainId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
const auto kGroup = GroupId::parse("6f2504e0-4f89-11d3-9a0c-0305e82c3302");
const RunId kRun("11111111-2222-4333-8444-555555555555");
// 2025-11-25T15:29:07Z: 20:59:07 in Asia/Kolkata.
const Slot kSlot{std::chrono::seconds{1'764'084'547}};

TEST(ObjectKey, FollowsTheDocumentedLayout) {
  EXPECT_EQ(object_key_for("exports/users", kDomain, kGroup, kSlot, kRun, 1),
            "exports/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/"
            "6f2504e0-4f89-11d3-9a0c-0305e82c3302/2025-11-25T1529Z/"
            "11111111-2222-4333-8444-555555555555.attempt-1.csv.gz");
}

TEST(ObjectKey, EmptyPrefixHasNoLeadingSlashAndTrailingSlashesAreDropped) {
  const std::string bare = object_key_for("", kDomain, kGroup, kSlot, kRun, 1);
  EXPECT_EQ(bare.rfind("3f2504e0-", 0), 0u);
  EXPECT_EQ(object_key_for("p//", kDomain, kGroup, kSlot, kRun, 1), "p/" + bare);
}

TEST(ObjectKey, PadsSmallFieldsAndHandlesMidnight) {
  const Slot new_year{std::chrono::seconds{1'767'225'600}};  // 2026-01-01T00:00:00Z
  auto key = object_key_for("", kDomain, kGroup, new_year, RunId("r"), 12);
  EXPECT_NE(key.find("/2026-01-01T0000Z/r.attempt-12.csv.gz"), std::string::npos) << key;
}

TEST(ObjectKey, EveryAttemptOfARunHasItsOwnKey) {
  EXPECT_NE(object_key_for("p", kDomain, kGroup, kSlot, kRun, 1),
            object_key_for("p", kDomain, kGroup, kSlot, kRun, 2));
}

}  // namespace
}  // namespace user_export
