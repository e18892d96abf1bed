#include "cli/malloc_arenas.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(MallocArenas, TwoUnlessTheOperatorChoseANumber) {
  EXPECT_EQ(malloc_arena_limit(nullptr), 2);
  EXPECT_EQ(malloc_arena_limit(""), 2);
  EXPECT_EQ(malloc_arena_limit("8"), std::nullopt);  // glibc applies the operator's own value
}

}  // namespace
}  // namespace user_export
