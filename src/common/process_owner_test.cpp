#include "common/process_owner.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace user_export {
namespace {

std::string host_of(const std::string& id) {
  return id.substr(0, id.rfind(':'));
}

TEST(ProcessOwner, DefaultIdIsHostAndPid) {
  std::string id = default_instance_id();
  EXPECT_EQ(id.substr(id.rfind(':') + 1), std::to_string(getpid()));
}

TEST(ProcessOwner, ExitedLocalProcessIsDead) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  std::string host = host_of(default_instance_id());
  EXPECT_TRUE(local_owner_is_dead(host + ":" + std::to_string(child)));
}

TEST(ProcessOwner, LiveOrForeignOrMalformedOwnersAreNotDead) {
  std::string host = host_of(default_instance_id());
  EXPECT_FALSE(local_owner_is_dead(default_instance_id()));
  EXPECT_FALSE(local_owner_is_dead(host + ":1"));  // init is alive
  EXPECT_FALSE(local_owner_is_dead("some-other-host:999999"));
  EXPECT_FALSE(local_owner_is_dead("pod-7"));
  EXPECT_FALSE(local_owner_is_dead(host + ":12x"));
  EXPECT_FALSE(local_owner_is_dead(host + ":"));
}

}  // namespace
}  // namespace user_export
