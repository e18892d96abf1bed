// GracefulStop: the first step stops new work; the second cancels only after the timeout.
#include "cli/graceful_stop.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace user_export {
namespace {

using namespace std::chrono_literals;

TEST(GracefulStopTest, BeginStopsClaimingAtOnceAndCancelsOnlyAfterTheTimeout) {
  GracefulStop stop(1s);
  std::atomic<int> hooked{0};
  CancelHook hook(stop, [&] { ++hooked; });
  EXPECT_FALSE(stop.stop_claiming);
  EXPECT_STREQ(stop.reason(), "");
  stop.begin("SIGTERM");
  stop.begin("SIGINT");  // the first one counts
  EXPECT_TRUE(stop.stop_claiming);
  EXPECT_STREQ(stop.reason(), "SIGTERM");
  EXPECT_FALSE(stop.cancel);
  for (int i = 0; i < 250 && !stop.cancel; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(stop.cancel);
  EXPECT_EQ(hooked, 1);
}

TEST(GracefulStopTest, WorkThatFinishesInTimeIsNeverCancelled) {
  std::atomic<int> hooked{0};
  {
    GracefulStop stop(200ms);
    CancelHook hook(stop, [&] { ++hooked; });
    stop.begin("SIGINT");
    stop.finish();
    std::this_thread::sleep_for(400ms);
    EXPECT_FALSE(stop.cancel);
  }
  EXPECT_EQ(hooked, 0);
}

TEST(GracefulStopTest, WithoutASignalNothingHappens) {
  GracefulStop stop(10ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(stop.stop_claiming);
  EXPECT_FALSE(stop.cancel);
}

}  // namespace
}  // namespace user_export
