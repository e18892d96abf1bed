#include "common/process_owner.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

namespace user_export {
namespace {

ProcessIdentity self_at(long pid, std::uint64_t start) {
  ProcessIdentity id;
  id.host = "node-1";
  id.boot = "6f1c2e0a9b3d";
  id.pid_ns = 4026532845;
  id.pid = pid;
  id.start_ticks = start;
  return id;
}

/// A process table: pid to start ticks.
StartTimeProbe table(std::map<long, std::uint64_t> processes) {
  return [processes](long pid) -> std::optional<std::uint64_t> {
    auto it = processes.find(pid);
    if (it == processes.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProcessOwner, TheIdNamesHostPidStartBootAndNamespaceAndParsesBack) {
  const ProcessIdentity id = self_at(7, 1234567);
  EXPECT_EQ(format_instance_id(id), "node-1:7:1234567:6f1c2e0a9b3d:4026532845");
  EXPECT_EQ(parse_instance_id(format_instance_id(id)), id);
  for (const char* other :
       {"node-1:7", "pod-7", "", "node-1:7:x:6f1c2e0a9b3d:1", ":7:1:6f1c2e0a9b3d:1",
        "node-1:0:1:6f1c2e0a9b3d:1", "node-1:7:1:short:1"}) {
    EXPECT_FALSE(parse_instance_id(other)) << other;
  }
}

TEST(ProcessOwner, TheDefaultIdIsThisProcess) {
  const ProcessIdentity me = this_process();
  EXPECT_EQ(me.pid, getpid());
  EXPECT_GT(me.start_ticks, 0u);
  EXPECT_GT(me.pid_ns, 0u);
  EXPECT_EQ(me.boot.size(), 12u);
  EXPECT_EQ(parse_instance_id(default_instance_id()), me);
  EXPECT_FALSE(local_owner_is_dead(default_instance_id()));
}

// Two containers with the same host name both run the exporter as pid 7. Neither may take
// the other's lease for dead just because its own namespace has no pid 7.
TEST(ProcessOwner, AnOwnerInAnotherPidNamespaceOrBootIsNeverDead) {
  const ProcessIdentity self = self_at(7, 500);
  ProcessIdentity other = self_at(7, 900);
  other.pid_ns = 4026532999;
  EXPECT_FALSE(owner_is_dead(format_instance_id(other), self, table({})));
  other = self_at(12, 900);
  other.boot = "aaaaaaaaaaaa";
  EXPECT_FALSE(owner_is_dead(format_instance_id(other), self, table({})));
  other = self_at(12, 900);
  other.host = "node-2";
  EXPECT_FALSE(owner_is_dead(format_instance_id(other), self, table({})));
  // The old form cannot say which namespace it came from.
  EXPECT_FALSE(owner_is_dead("node-1:12", self, table({})));
}

TEST(ProcessOwner, InTheSameNamespaceAGoneOrReusedPidIsDead) {
  const ProcessIdentity self = self_at(7, 500);
  const std::string owner = format_instance_id(self_at(12, 900));
  EXPECT_TRUE(owner_is_dead(owner, self, table({{7, 500}})));              // no pid 12
  EXPECT_TRUE(owner_is_dead(owner, self, table({{7, 500}, {12, 901}})));   // pid 12 reused
  EXPECT_FALSE(owner_is_dead(owner, self, table({{7, 500}, {12, 900}})));  // still running
  EXPECT_FALSE(owner_is_dead(format_instance_id(self), self, table({})));  // this process
}

TEST(ProcessOwner, AnExitedChildIsDeadOnThisHost) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  ProcessIdentity gone = this_process();
  gone.pid = child;
  EXPECT_TRUE(local_owner_is_dead(format_instance_id(gone)));
  ProcessIdentity init = this_process();
  init.pid = 1;
  init.start_ticks = proc_start_ticks(1).value_or(0);
  EXPECT_FALSE(local_owner_is_dead(format_instance_id(init)));
}

}  // namespace
}  // namespace user_export
