#include "publish/kafka/delivery_errors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace user_export {
namespace {

using Status = DeliveryResult::Status;

struct Row {
  rd_kafka_resp_err_t err;
  Status expected;
};

class DeliveryErrorsTest : public ::testing::TestWithParam<Row> {};

TEST_P(DeliveryErrorsTest, Classifies) {
  const Row row = GetParam();
  EXPECT_EQ(classify_delivery_error(row.err), row.expected) << rd_kafka_err2name(row.err);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeliveryErrorsTest,
    ::testing::Values(
        // The cluster is unreachable, slow or electing a leader: try again later.
        Row{RD_KAFKA_RESP_ERR__TRANSPORT, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__TIMED_OUT, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__QUEUE_FULL, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__RESOLVE, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__PURGE_QUEUE, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__FATAL, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR__AUTHENTICATION, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_INVALID_MSG, Status::kRetriable},  // CORRUPT_MESSAGE
        Row{RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, Status::kRetriable},
        Row{RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, Status::kRetriable},
        // The message cannot be delivered as it is: dead-letter it.
        Row{RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_INVALID_RECORD, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR_POLICY_VIOLATION, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, Status::kFatal},
        Row{RD_KAFKA_RESP_ERR__INVALID_ARG, Status::kFatal}),
    [](const auto& info) { return std::string(rd_kafka_err2name(info.param.err)); });

TEST(DeliveryResultTest, DeliveredHasNoError) {
  const DeliveryResult r = delivery_result(RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(r.status, Status::kDelivered);
  EXPECT_TRUE(r.error_code.empty());
  EXPECT_TRUE(r.error.empty());
}

TEST(DeliveryResultTest, FailureCarriesLibrdkafkasNameAndText) {
  const DeliveryResult r = delivery_result(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(r.status, Status::kFatal);
  EXPECT_EQ(r.error_code, "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(r.error, rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
  const DeliveryResult t = delivery_result(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  EXPECT_EQ(t.status, Status::kRetriable);
  EXPECT_EQ(t.error_code, "_MSG_TIMED_OUT");
}

}  // namespace
}  // namespace user_export
