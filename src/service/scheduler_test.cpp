#include "service/scheduler.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "support/fake_clock.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;

// 2026-01-01T00:00:00Z, a multiple of 5 s.
const SystemTime kStart{std::chrono::seconds{1'767'225'600}};

SchedulerOptions options(std::chrono::seconds grace, std::chrono::seconds sweep) {
  return SchedulerOptions{grace, sweep, 1s};
}

TEST(Scheduler, FiresEachCronSlotOnceOnTheFakeClock) {
  testing::FakeClock clock(kStart + 1s);
  Scheduler s(CronSchedule::parse("*/5 * * * * *", "UTC"), clock, options(0s, 0s));
  EXPECT_FALSE(s.poll().has_value());
  ASSERT_TRUE(s.next_slot().has_value());
  EXPECT_EQ(*s.next_slot(), kStart + 5s);
  clock.advance(3s);
  EXPECT_FALSE(s.poll().has_value());
  clock.advance(1s);  // 00:00:05
  auto f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FiringKind::kSlot);
  EXPECT_EQ(SystemTime{f->slot}, kStart + 5s);
  EXPECT_FALSE(s.poll().has_value());  // not twice
  clock.advance(5s);
  f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(SystemTime{f->slot}, kStart + 10s);
}

TEST(Scheduler, SlotsPassedWhileBusyAreCoalescedIntoTheLatest) {
  testing::FakeClock clock(kStart + 1s);
  Scheduler s(CronSchedule::parse("*/5 * * * * *", "UTC"), clock, options(0s, 0s));
  EXPECT_FALSE(s.poll().has_value());
  clock.advance(22s);  // 00:00:23: slots :05 :10 :15 :20 passed
  auto f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(SystemTime{f->slot}, kStart + 20s);
  EXPECT_FALSE(s.poll().has_value());
  EXPECT_EQ(*s.next_slot(), kStart + 25s);
}

TEST(Scheduler, MissedSlotWithinGraceRunsOnceAtStart) {
  testing::FakeClock clock(kStart + 30min);
  Scheduler s(CronSchedule::parse("0 0 * * * *", "UTC"), clock, options(1h, 0s));
  auto f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FiringKind::kMissed);
  EXPECT_EQ(SystemTime{f->slot}, kStart);
  EXPECT_FALSE(s.poll().has_value());
}

TEST(Scheduler, MissedSlotOlderThanGraceDoesNotRun) {
  testing::FakeClock clock(kStart + 30min);
  Scheduler s(CronSchedule::parse("0 0 * * * *", "UTC"), clock, options(29min, 0s));
  EXPECT_FALSE(s.poll().has_value());
  EXPECT_EQ(*s.next_slot(), kStart + 1h);
}

TEST(Scheduler, SweepRepeatsTheLastFiredSlot) {
  testing::FakeClock clock(kStart + 1s);
  Scheduler s(CronSchedule::parse("0 0 * * * *", "UTC"), clock, options(0s, 10s));
  EXPECT_FALSE(s.poll().has_value());  // nothing fired yet: nothing to sweep
  clock.advance(1h);
  auto f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FiringKind::kSlot);
  clock.advance(9s);
  EXPECT_FALSE(s.poll().has_value());
  clock.advance(1s);
  f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FiringKind::kSweep);
  EXPECT_EQ(SystemTime{f->slot}, kStart + 1h);
  EXPECT_FALSE(s.poll().has_value());
}

TEST(Scheduler, TriggerComesFirstWithItsGroupAndTheCurrentSecond) {
  testing::FakeClock clock(kStart + 1500ms);
  Scheduler s(CronSchedule::parse("0 0 * * * *", "UTC"), clock, options(0s, 0s));
  s.trigger(std::string("g-1"));
  auto f = s.poll();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FiringKind::kTrigger);
  EXPECT_EQ(f->group, std::optional<std::string>("g-1"));
  EXPECT_EQ(SystemTime{f->slot}, kStart + 1s);
}

TEST(Scheduler, TakeTriggerReturnsOnlyTriggers) {
  testing::FakeClock clock(kStart + 1s);
  Scheduler s(CronSchedule::parse("*/5 * * * * *", "UTC"), clock, options(0s, 0s));
  EXPECT_FALSE(s.take_trigger().has_value());
  s.trigger(std::nullopt);
  auto t = s.take_trigger();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->kind, FiringKind::kTrigger);
  EXPECT_FALSE(s.take_trigger().has_value());
}

// Real waits: a trigger or stop() ends wait_next() without waiting for the (hourly) cron.
TEST(Scheduler, TriggerAndStopWakeAWaiterAtOnce) {
  SystemClock clock;
  Scheduler s(CronSchedule::parse("0 0 0 1 1 *", "UTC"), clock,
              SchedulerOptions{0s, 0s, std::chrono::hours(1)});
  std::optional<Firing> got;
  std::thread waiter([&] { got = s.wait_next(); });
  s.trigger(std::nullopt);
  waiter.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, FiringKind::kTrigger);

  std::optional<Firing> after_stop{Firing{}};
  std::thread second([&] { after_stop = s.wait_next(); });
  s.stop();
  second.join();
  EXPECT_FALSE(after_stop.has_value());
  EXPECT_FALSE(s.wait_for(std::chrono::hours(1)));
}

}  // namespace
}  // namespace user_export
