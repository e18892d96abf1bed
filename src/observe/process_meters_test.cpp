#include "observe/process_meters.hpp"

#include <gtest/gtest.h>

#include <string>

namespace user_export {
namespace {

TEST(ProcessMeters, ExposeBuildInfoAndTheAlwaysPresentGauges) {
  Metrics m;
  register_process_meters(m, "1.2.3");
  EXPECT_EQ(m.value("users_export_build_info", {{"version", "1.2.3"}}), 1);
  EXPECT_EQ(m.value("users_export_outbox_pending"), 0);
  EXPECT_EQ(m.value("users_export_circuit_breaker_state", {{"name", "publish"}}), 0);
  EXPECT_EQ(m.value("users_export_scheduler_paused"), 0);
  const std::string text = m.prometheus_text();
  EXPECT_NE(text.find("users_export_build_info{version=\"1.2.3\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE users_export_scheduler_paused gauge\n"), std::string::npos);
}

TEST(ProcessMeters, LeaveValuesThatAreAlreadySet) {
  Metrics m;
  m.gauge("users_export_outbox_pending", "pending").set(7);
  m.gauge("users_export_scheduler_paused", "paused").set(1);
  register_process_meters(m, "1.2.3");
  register_process_meters(m, "1.2.3");
  EXPECT_EQ(m.value("users_export_outbox_pending"), 7);
  EXPECT_EQ(m.value("users_export_scheduler_paused"), 1);
  EXPECT_EQ(m.value("users_export_build_info", {{"version", "1.2.3"}}), 1);
}

}  // namespace
}  // namespace user_export
