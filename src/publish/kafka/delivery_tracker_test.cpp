#include "publish/kafka/delivery_tracker.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace user_export {
namespace {

TEST(DeliveryTrackerTest, CountsOutstandingAndMeasuresLatency) {
  testing::FakeClock clock;
  DeliveryTracker t(3, clock);
  t.sent(0);
  t.sent(1);
  EXPECT_EQ(t.outstanding(), 2u);
  clock.advance(std::chrono::milliseconds{7});
  t.report(1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(t.outstanding(), 1u);
  ASSERT_TRUE(t.get(1));
  EXPECT_EQ(t.get(1)->err, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(t.get(1)->latency, std::chrono::milliseconds{7});
  EXPECT_FALSE(t.get(0));
  EXPECT_FALSE(t.get(2));  // never sent
}

TEST(DeliveryTrackerTest, IgnoresDuplicateAndUnsentReports) {
  testing::FakeClock clock;
  DeliveryTracker t(2, clock);
  t.sent(0);
  t.sent(0);  // a retried produce call of the same message
  EXPECT_EQ(t.outstanding(), 1u);
  t.report(0, RD_KAFKA_RESP_ERR_NO_ERROR);
  t.report(0, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  t.report(1, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_EQ(t.get(0)->err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_FALSE(t.get(1));
}

}  // namespace
}  // namespace user_export
