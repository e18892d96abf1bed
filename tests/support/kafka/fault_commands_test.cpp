#include "support/kafka/fault_commands.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "common/clock.hpp"
#include "publish/kafka/delivery_tracker.hpp"
#include "publish/kafka/producer.hpp"

namespace user_export::testing {
namespace {

TEST(ParseErrorCodeTest, AcceptsNamesPrefixedNamesAndNumbers) {
  EXPECT_EQ(parse_error_code("MSG_SIZE_TOO_LARGE"), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(parse_error_code("RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE"),
            RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(parse_error_code("_TRANSPORT"), RD_KAFKA_RESP_ERR__TRANSPORT);
  EXPECT_EQ(parse_error_code("RD_KAFKA_RESP_ERR__TRANSPORT"), RD_KAFKA_RESP_ERR__TRANSPORT);
  EXPECT_EQ(parse_error_code("29"), RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  EXPECT_EQ(parse_error_code("NO_ERROR"), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_FALSE(parse_error_code("MSG_SIZE_TOO"));
  EXPECT_FALSE(parse_error_code("100000"));
  EXPECT_FALSE(parse_error_code(""));
}

TEST(ParseApiKeyTest, AcceptsNamesInAnyCaseAndNumbers) {
  EXPECT_EQ(parse_api_key("Produce"), 0);
  EXPECT_EQ(parse_api_key("METADATA"), 3);
  EXPECT_EQ(parse_api_key("InitProducerId"), 22);
  EXPECT_EQ(parse_api_key("18"), 18);
  EXPECT_FALSE(parse_api_key("-1"));
  EXPECT_FALSE(parse_api_key("Produc"));
}

TEST(FaultCommandsTest, AnswersOkOrErrWithAReason) {
  MockCluster cluster(3);
  EXPECT_EQ(apply_fault_command(cluster, "broker_down 2").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "broker_up 2").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "all_down").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "all_up").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "rtt 1 0").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "topic_create extra 2").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "topic_error extra NO_ERROR").text, "OK");
  EXPECT_EQ(apply_fault_command(cluster, "broker_down 4").text.rfind("ERR ", 0), 0u);
  EXPECT_EQ(apply_fault_command(cluster, "broker_down x").text.rfind("ERR usage", 0), 0u);
  EXPECT_EQ(apply_fault_command(cluster, "error Produce NOPE 1").text.rfind("ERR ", 0), 0u);
  EXPECT_EQ(apply_fault_command(cluster, "error Nope MSG_SIZE_TOO_LARGE 1").text.rfind("ERR ", 0),
            0u);
  EXPECT_EQ(
      apply_fault_command(cluster, "error Produce MSG_SIZE_TOO_LARGE 0").text.rfind("ERR ", 0), 0u);
  EXPECT_EQ(
      apply_fault_command(cluster, "error t Produce MSG_SIZE_TOO_LARGE 1").text.rfind("ERR ", 0),
      0u);
  EXPECT_EQ(apply_fault_command(cluster, "topic_create t 0").text.rfind("ERR usage", 0), 0u);
  EXPECT_EQ(apply_fault_command(cluster, "frobnicate").text.rfind("ERR unknown command", 0), 0u);
  EXPECT_EQ(apply_fault_command(cluster, "   ").text, "");
  EXPECT_EQ(apply_fault_command(cluster, "# comment").text, "");
  EXPECT_FALSE(apply_fault_command(cluster, "all_up").quit);
  const FaultCommandReply quit = apply_fault_command(cluster, "quit");
  EXPECT_EQ(quit.text, "OK");
  EXPECT_TRUE(quit.quit);
}

/// Produces one message to `topic` and returns its delivery report's error.
rd_kafka_resp_err_t produce_one(KafkaProducer& producer, const std::string& topic) {
  static const SystemClock clock;
  auto tracker = std::make_shared<DeliveryTracker>(1, clock);
  OutboundMessage m;
  m.key = "k";
  m.payload = "v";
  tracker->sent(0);
  if (auto err = producer.produce(m, topic, tracker, 0); err) return err;
  producer.flush(std::chrono::milliseconds{10'000});
  return tracker->get(0) ? tracker->get(0)->err : RD_KAFKA_RESP_ERR__TIMED_OUT;
}

TEST(FaultCommandsTest, PushedRequestErrorFailsTheNextProduceRequestsOnly) {
  MockCluster cluster(1);
  ASSERT_EQ(apply_fault_command(cluster, "topic_create t 1 1").text, "OK");
  KafkaProducer producer({{"bootstrap.servers", cluster.bootstrap()}});
  ASSERT_EQ(produce_one(producer, "t"), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(apply_fault_command(cluster, "error Produce MSG_SIZE_TOO_LARGE 1").text, "OK");
  EXPECT_EQ(produce_one(producer, "t"), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(produce_one(producer, "t"), RD_KAFKA_RESP_ERR_NO_ERROR);
}

}  // namespace
}  // namespace user_export::testing
