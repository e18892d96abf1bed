#include "config/environment.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace user_export {
namespace {

TEST(Environment, ReturnsTheValuesItWasBuiltFrom) {
  Environment env({{"A", "1"}, {"EMPTY", ""}});
  EXPECT_EQ(env.get("A"), "1");
  EXPECT_EQ(env.get("EMPTY"), "");
  EXPECT_EQ(env.get("B"), std::nullopt);
  EXPECT_EQ(Environment().get("A"), std::nullopt);
}

TEST(Environment, FromProcessIsASnapshot) {
  ASSERT_EQ(setenv("USER_EXPORT_ENVIRONMENT_TEST", "x=y", 1), 0);
  Environment env = Environment::from_process();
  ASSERT_EQ(setenv("USER_EXPORT_ENVIRONMENT_TEST", "changed", 1), 0);
  EXPECT_EQ(env.get("USER_EXPORT_ENVIRONMENT_TEST"), "x=y");  // value keeps its '='
  EXPECT_EQ(Environment::from_process().get("USER_EXPORT_ENVIRONMENT_TEST"), "changed");
  unsetenv("USER_EXPORT_ENVIRONMENT_TEST");
  EXPECT_EQ(Environment::from_process().get("USER_EXPORT_ENVIRONMENT_TEST"), std::nullopt);
}

}  // namespace
}  // namespace user_export
