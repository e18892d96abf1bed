#include "resilience/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "support/fake_clock.hpp"

namespace user_export {
namespace {

using std::chrono::seconds;
using Change = std::pair<CircuitState, CircuitState>;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  testing::FakeClock clock;
  CircuitBreaker breaker(3, seconds(30), clock);
  breaker.record_failure();
  breaker.record_failure();
  breaker.record_success();  // breaks the streak
  breaker.record_failure();
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
  EXPECT_EQ(breaker.consecutive_failures(), 2);
  EXPECT_TRUE(breaker.allow());
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_FALSE(breaker.allow());
}

TEST(CircuitBreaker, FullCycleWithOneProbeAndCallbacks) {
  testing::FakeClock clock;
  std::vector<Change> changes;
  CircuitBreaker breaker(2, seconds(30), clock, [&](CircuitState from, CircuitState to) {
    changes.emplace_back(from, to);
  });
  breaker.record_failure();
  breaker.record_failure();
  ASSERT_EQ(breaker.state(), CircuitState::kOpen);

  clock.advance(seconds(29));
  EXPECT_FALSE(breaker.allow());  // still cooling down
  clock.advance(seconds(1));
  EXPECT_TRUE(breaker.allow());  // the probe
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
  EXPECT_FALSE(breaker.allow());  // only one probe at a time

  breaker.record_failure();  // probe failed: open for another cool-down
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  clock.advance(seconds(10));
  EXPECT_FALSE(breaker.allow());
  clock.advance(seconds(20));
  EXPECT_TRUE(breaker.allow());
  breaker.record_success();  // probe succeeded: closed
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
  EXPECT_TRUE(breaker.allow());
  EXPECT_TRUE(breaker.allow());

  std::vector<Change> want = {{CircuitState::kClosed, CircuitState::kOpen},
                              {CircuitState::kOpen, CircuitState::kHalfOpen},
                              {CircuitState::kHalfOpen, CircuitState::kOpen},
                              {CircuitState::kOpen, CircuitState::kHalfOpen},
                              {CircuitState::kHalfOpen, CircuitState::kClosed}};
  EXPECT_EQ(changes, want);
}

TEST(CircuitBreaker, ClosingResetsTheFailureCount) {
  testing::FakeClock clock;
  CircuitBreaker breaker(2, seconds(5), clock);
  breaker.record_failure();
  breaker.record_failure();
  clock.advance(seconds(5));
  ASSERT_TRUE(breaker.allow());
  breaker.record_success();
  breaker.record_failure();  // one failure after closing is below the threshold again
  EXPECT_EQ(breaker.state(), CircuitState::kClosed);
}

TEST(CircuitBreaker, OutcomesRecordedWhileOpenAreIgnored) {
  testing::FakeClock clock;
  CircuitBreaker breaker(1, seconds(5), clock);
  breaker.record_failure();
  ASSERT_EQ(breaker.state(), CircuitState::kOpen);
  breaker.record_success();  // a call that started before the circuit opened
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_FALSE(breaker.allow());
}

TEST(CircuitBreaker, LostProbeIsReplacedAfterAnotherCoolDown) {
  testing::FakeClock clock;
  CircuitBreaker breaker(1, seconds(5), clock);
  breaker.record_failure();
  clock.advance(seconds(5));
  ASSERT_TRUE(breaker.allow());  // this probe never reports back
  clock.advance(seconds(4));
  EXPECT_FALSE(breaker.allow());
  clock.advance(seconds(1));
  EXPECT_TRUE(breaker.allow());
  EXPECT_EQ(breaker.state(), CircuitState::kHalfOpen);
}

TEST(CircuitBreaker, ConcurrentCallersGetExactlyOneProbe) {
  testing::FakeClock clock;
  CircuitBreaker breaker(1, seconds(5), clock);
  breaker.record_failure();
  clock.advance(seconds(5));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (breaker.allow()) allowed.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1);
}

TEST(CircuitBreaker, ThresholdBelowOneCountsAsOne) {
  testing::FakeClock clock;
  CircuitBreaker breaker(0, seconds(5), clock);
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), CircuitState::kOpen);
  EXPECT_STREQ(to_string(CircuitState::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace user_export
