#include "resilience/retry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/error.hpp"
#include "support/fake_clock.hpp"

namespace user_export {
namespace {

using std::chrono::milliseconds;

RetryConfig config(int attempts, double jitter) {
  RetryConfig c;
  c.max_attempts = attempts;
  c.initial_backoff = milliseconds(100);
  c.multiplier = 3.0;
  c.max_backoff = milliseconds(10000);
  c.jitter = jitter;
  return c;
}

TEST(Backoff, ExactExponentialSequenceCappedAtMax) {
  testing::FakeRandom random;
  Backoff backoff(config(10, 0.0), random);
  std::vector<Duration> got;
  for (int n = 1; n <= 7; ++n) got.push_back(backoff.delay(n));
  std::vector<Duration> want = {milliseconds(100),  milliseconds(300),  milliseconds(900),
                                milliseconds(2700), milliseconds(8100), milliseconds(10000),
                                milliseconds(10000)};
  EXPECT_EQ(got, want);
  EXPECT_EQ(backoff.delay(0), milliseconds(100));       // below 1 counts as 1
  EXPECT_EQ(backoff.delay(5000), milliseconds(10000));  // pow overflow is capped, not garbage
}

TEST(Backoff, JitterStaysWithinBoundsAndFollowsTheRandomSource) {
  testing::FakeRandom random(7);
  testing::FakeRandom replay(7);
  Backoff backoff(config(10, 0.2), random);
  double lowest = 2, highest = 0;
  for (int i = 0; i < 2000; ++i) {
    const int attempt = 1 + i % 8;
    const double base = std::min(100.0 * std::pow(3.0, attempt - 1), 10000.0);
    const double ms = std::chrono::duration<double, std::milli>(backoff.delay(attempt)).count();
    const double factor = ms / base;
    EXPECT_GE(factor, 0.8 - 1e-9);
    EXPECT_LE(factor, 1.2 + 1e-9);
    // The factor is exactly 1 - j + 2j * u for the next uniform draw.
    EXPECT_NEAR(factor, 0.8 + 0.4 * replay.uniform01(), 1e-6);
    lowest = std::min(lowest, factor);
    highest = std::max(highest, factor);
  }
  // The whole jitter range is used, not a constant.
  EXPECT_LT(lowest, 0.82);
  EXPECT_GT(highest, 1.18);
}

TEST(Retry, RetriesRetriableErrorsWithTheBackoffDelays) {
  testing::FakeClock clock;
  testing::FakeRandom random;
  Retry retry(config(4, 0.0), clock, random);
  std::vector<int> attempts;
  std::vector<std::pair<int, Duration>> notified;
  int result = retry.run(
      [&](int attempt) {
        attempts.push_back(attempt);
        if (attempt < 4) throw Error(ErrorCode::kStorage, "503 from the store", true);
        return 42;
      },
      [&](int attempt, const std::exception& e, Duration d) {
        EXPECT_STREQ(e.what(), "503 from the store");
        notified.emplace_back(attempt, d);
      });
  EXPECT_EQ(result, 42);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3, 4}));
  std::vector<Duration> want = {milliseconds(100), milliseconds(300), milliseconds(900)};
  EXPECT_EQ(clock.sleeps(), want);
  ASSERT_EQ(notified.size(), 3u);
  EXPECT_EQ(notified[2], (std::pair<int, Duration>{3, milliseconds(900)}));
}

TEST(Retry, LastErrorPropagatesAfterTheFinalAttempt) {
  testing::FakeClock clock;
  testing::FakeRandom random;
  Retry retry(config(3, 0.0), clock, random);
  int calls = 0;
  try {
    retry.run([&](int attempt) -> void {
      ++calls;
      throw Error(ErrorCode::kPublish, "timeout " + std::to_string(attempt), true);
    });
    FAIL() << "expected the last error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "timeout 3");
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(clock.sleeps().size(), 2u);  // no wait after the last attempt
}

TEST(Retry, NonRetriableErrorPropagatesAtOnce) {
  testing::FakeClock clock;
  testing::FakeRandom random;
  Retry retry(config(5, 0.0), clock, random);
  int calls = 0;
  bool notified = false;
  EXPECT_THROW(retry.run(
                   [&](int) -> void {
                     ++calls;
                     throw Error(ErrorCode::kConfig, "bad credentials", false);
                   },
                   [&](int, const std::exception&, Duration) { notified = true; }),
               Error);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(notified);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(Retry, ForeignExceptionsPropagateAtOnce) {
  testing::FakeClock clock;
  testing::FakeRandom random;
  Retry retry(config(5, 0.0), clock, random);
  int calls = 0;
  EXPECT_THROW(retry.run([&](int) -> void {
    ++calls;
    throw std::runtime_error("not ours");
  }),
               std::runtime_error);
  EXPECT_THROW(retry.run([&](int) -> void {
    ++calls;
    throw 7;  // not even a std::exception
  }),
               int);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(Retry, ZeroAttemptsStillRunsOnce) {
  testing::FakeClock clock;
  testing::FakeRandom random;
  Retry retry(config(0, 0.0), clock, random);
  int calls = 0;
  EXPECT_THROW(retry.run([&](int) -> void {
    ++calls;
    throw Error(ErrorCode::kStorage, "down", true);
  }),
               Error);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace user_export
