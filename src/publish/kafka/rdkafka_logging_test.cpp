#include "publish/kafka/rdkafka_logging.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(RdkafkaLoggingTest, MapsSyslogLevels) {
  EXPECT_EQ(spdlog_level_for_log(0, "X"), spdlog::level::critical);
  EXPECT_EQ(spdlog_level_for_log(2, "FATAL"), spdlog::level::critical);
  EXPECT_EQ(spdlog_level_for_log(3, "ERROR"), spdlog::level::err);
  EXPECT_EQ(spdlog_level_for_log(4, "CONFWARN"), spdlog::level::warn);
  EXPECT_EQ(spdlog_level_for_log(5, "X"), spdlog::level::info);
  EXPECT_EQ(spdlog_level_for_log(6, "X"), spdlog::level::info);
  EXPECT_EQ(spdlog_level_for_log(7, "PROTOCOL"), spdlog::level::debug);
}

TEST(RdkafkaLoggingTest, ConnectionLossIsAWarningAndFatalIsAnError) {
  EXPECT_EQ(spdlog_level_for_log(3, "FAIL"), spdlog::level::warn);
  EXPECT_EQ(spdlog_level_for_client_error(RD_KAFKA_RESP_ERR__TRANSPORT), spdlog::level::warn);
  EXPECT_EQ(spdlog_level_for_client_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN),
            spdlog::level::warn);
  EXPECT_EQ(spdlog_level_for_client_error(RD_KAFKA_RESP_ERR__FATAL), spdlog::level::err);
  EXPECT_EQ(spdlog_level_for_client_error(RD_KAFKA_RESP_ERR__AUTHENTICATION), spdlog::level::err);
}

}  // namespace
}  // namespace user_export
