#include "common/secure_random.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>

#include "common/clock.hpp"
#include "common/uuid.hpp"

namespace user_export {
namespace {

TEST(SecureRandom, FillsEveryByteWithoutAVisibleBias) {
  std::vector<unsigned char> bytes(1 << 20, 0);
  fill_secure_random(bytes.data(), bytes.size());
  std::array<std::size_t, 256> counts{};
  for (unsigned char b : bytes) ++counts[b];
  // 4096 expected per value; a stuck or short fill would leave zeros far above that.
  for (std::size_t v = 0; v < counts.size(); ++v) {
    EXPECT_GT(counts[v], 3500u) << v;
    EXPECT_LT(counts[v], 4700u) << v;
  }
}

TEST(SecureRandom, RunIdsDoNotRepeat) {
  SystemRandom random;
  std::set<std::string> ids;
  for (int i = 0; i < 100000; ++i) ids.insert(Uuid::random(random).str());
  EXPECT_EQ(ids.size(), 100000u);
}

// A generator whose state lives in the process (as a seeded mt19937 did) is copied by fork():
// parent and child would then draw the same "random" run ids.
TEST(SecureRandom, AForkedChildDrawsOtherValuesThanItsParent) {
  SystemRandom random;
  (void)random.next_u64();  // any per-process state exists before the fork
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::uint64_t values[4];
    for (auto& v : values) v = random.next_u64();
    _exit(write(pipe_fds[1], values, sizeof values) == sizeof values ? 0 : 1);
  }
  std::uint64_t mine[4];
  for (auto& v : mine) v = random.next_u64();
  std::uint64_t theirs[4] = {};
  ASSERT_EQ(read(pipe_fds[0], theirs, sizeof theirs), static_cast<ssize_t>(sizeof theirs));
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_NE(std::vector<std::uint64_t>(mine, mine + 4),
            std::vector<std::uint64_t>(theirs, theirs + 4));
}

}  // namespace
}  // namespace user_export
