#include "publish/kafka/delivery_errors.hpp"

#include <algorithm>
#include <array>

namespace user_export {
namespace {

// Broker error codes the Kafka protocol marks retriable (the Java client's RetriableException
// subclasses), plus the idempotent producer's sequence and epoch errors, which a new producer
// resolves, and SASL authentication, which an operator resolves without touching the message.
constexpr std::array kRetriableBrokerErrors = {
    RD_KAFKA_RESP_ERR_INVALID_MSG,  // CORRUPT_MESSAGE: a checksum failed in transit
    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
    RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    RD_KAFKA_RESP_ERR_NOT_CONTROLLER,
    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
    RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
    RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
    RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
    RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
    RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
    RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH,
    RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND,
    RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH,
    RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH,
    RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT,
    RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
    RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
};

// Local (client-side) errors that describe the message itself rather than the connection.
constexpr std::array kFatalLocalErrors = {
    RD_KAFKA_RESP_ERR__BAD_MSG,
    RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
    RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
    RD_KAFKA_RESP_ERR__INVALID_ARG,
    RD_KAFKA_RESP_ERR__INVALID_TYPE,
    RD_KAFKA_RESP_ERR__KEY_SERIALIZATION,
    RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION,
};

template <typename Array>
bool contains(const Array& codes, rd_kafka_resp_err_t err) {
  return std::find(codes.begin(), codes.end(), err) != codes.end();
}

}  // namespace

DeliveryResult::Status classify_delivery_error(rd_kafka_resp_err_t err) {
  if (err < 0) {
    return contains(kFatalLocalErrors, err) ? DeliveryResult::Status::kFatal
                                            : DeliveryResult::Status::kRetriable;
  }
  return contains(kRetriableBrokerErrors, err) ? DeliveryResult::Status::kRetriable
                                               : DeliveryResult::Status::kFatal;
}

DeliveryResult delivery_result(rd_kafka_resp_err_t err) {
  DeliveryResult result;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return result;
  result.status = classify_delivery_error(err);
  result.error_code = rd_kafka_err2name(err);
  result.error = rd_kafka_err2str(err);
  return result;
}

}  // namespace user_export
