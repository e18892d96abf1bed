#include "service/backpressure.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export {
namespace {

double paused(const Metrics& m) {
  return m.value("users_export_scheduler_paused", {});
}

TEST(Backpressure, PauseByHandHoldsUntilResumeAndShowsInTheGauge) {
  Metrics metrics;
  Backpressure bp(metrics, 0, {});
  EXPECT_EQ(paused(metrics), 0);
  EXPECT_FALSE(bp.should_hold());
  bp.pause();
  EXPECT_EQ(paused(metrics), 1);
  EXPECT_TRUE(bp.should_hold());
  EXPECT_TRUE(bp.paused_by_hand());
  bp.resume();
  EXPECT_EQ(paused(metrics), 0);
  EXPECT_FALSE(bp.should_hold());
}

TEST(Backpressure, LagAboveTheThresholdHoldsAndBelowReleases) {
  Metrics metrics;
  std::int64_t lag = 101;
  int probes = 0;
  Backpressure bp(metrics, 100, [&] {
    ++probes;
    return lag;
  });
  EXPECT_TRUE(bp.should_hold());
  EXPECT_EQ(paused(metrics), 1);
  lag = 100;
  EXPECT_FALSE(bp.should_hold());
  EXPECT_EQ(paused(metrics), 0);
  EXPECT_EQ(probes, 2);
}

TEST(Backpressure, FailingProbeDoesNotHold) {
  Metrics metrics;
  Backpressure bp(metrics, 10,
                  []() -> std::int64_t { throw Error(ErrorCode::kPublish, "broker down", true); });
  EXPECT_FALSE(bp.should_hold());
  EXPECT_EQ(paused(metrics), 0);
}

TEST(Backpressure, ZeroThresholdNeverReadsTheLag) {
  Metrics metrics;
  int probes = 0;
  Backpressure bp(metrics, 0, [&] {
    ++probes;
    return std::int64_t{1'000'000};
  });
  EXPECT_FALSE(bp.should_hold());
  EXPECT_EQ(probes, 0);
}

}  // namespace
}  // namespace user_export
