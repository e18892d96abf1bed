#include "resilience/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "support/fake_clock.hpp"

namespace user_export {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// Records waits without moving time, so concurrent reservations can be checked exactly.
class RecordingSleeper final : public Sleeper {
 public:
  void sleep_for(Duration d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
  }
  std::vector<Duration> sleeps() {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  std::mutex mu_;
  std::vector<Duration> sleeps_;
};

TEST(RateLimiter, TenMessagesAtFivePerSecondTakeAboutTwoSeconds) {
  testing::FakeClock clock;
  RateLimiter limiter(5, 1, clock, clock);
  const auto start = clock.monotonic();
  for (int i = 0; i < 10; ++i) limiter.acquire();
  // The first message uses the full bucket, the nine others wait 200 ms each.
  EXPECT_EQ(clock.monotonic() - start, milliseconds(1800));
  EXPECT_EQ(clock.sleeps(), std::vector<Duration>(9, milliseconds(200)));
}

TEST(RateLimiter, BurstPassesAtOnceThenPaces) {
  testing::FakeClock clock;
  RateLimiter limiter(5, 5, clock, clock);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.acquire(), Duration::zero());
  EXPECT_EQ(limiter.acquire(), milliseconds(200));
  // Idle time refills the bucket, but never beyond the burst.
  clock.advance(seconds(60));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.acquire(), Duration::zero());
  EXPECT_EQ(limiter.acquire(), milliseconds(200));
}

TEST(RateLimiter, LargeRequestsWaitProportionally) {
  testing::FakeClock clock;
  RateLimiter limiter(1000, 500, clock, clock);  // bytes per second
  EXPECT_EQ(limiter.acquire(2500), seconds(2));  // 500 from the bucket, 2000 accrue in 2 s
  EXPECT_EQ(limiter.acquire(100), milliseconds(100));
}

TEST(RateLimiter, TryAcquireNeverWaits) {
  testing::FakeClock clock;
  RateLimiter limiter(2, 2, clock, clock);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  clock.advance(milliseconds(500));
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RateLimiter, ZeroRateIsUnlimited) {
  testing::FakeClock clock;
  RateLimiter limiter(0, 0, clock, clock);
  EXPECT_TRUE(limiter.unlimited());
  for (int i = 0; i < 10000; ++i) limiter.acquire(1e6);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RateLimiter, ConcurrentCallersReserveDistinctSlots) {
  // Time stands still, so every caller after the first reserves the next 200 ms slot: the
  // waits must be exactly 200 ms, 400 ms, ... with none lost or duplicated.
  testing::FakeClock clock;
  RecordingSleeper sleeper;
  RateLimiter limiter(5, 1, clock, sleeper);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) limiter.acquire();
    });
  }
  for (auto& th : threads) th.join();
  auto sleeps = sleeper.sleeps();
  std::sort(sleeps.begin(), sleeps.end());
  ASSERT_EQ(sleeps.size(), static_cast<std::size_t>(kThreads * kEach - 1));
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    EXPECT_EQ(sleeps[i], milliseconds(200) * static_cast<int>(i + 1)) << "slot " << i;
  }
}

}  // namespace
}  // namespace user_export
