#pragma once

#include <librdkafka/rdkafka.h>

#include "publish/message_sink.hpp"

namespace user_export {

/// Whether a message that failed with librdkafka error `err` may be delivered by a later attempt
/// (kRetriable: the cluster is unreachable, busy or electing a leader, the producer's own state
/// broke, the send timed out) or cannot be delivered as it is (kFatal: too large, not authorised,
/// unknown topic, rejected record). Broker errors the Kafka protocol marks retriable are
/// retriable, every other broker error is fatal, except UNKNOWN_TOPIC_OR_PART, which is fatal
/// because the exporter's topics are created by operators. Local errors (negative codes) are
/// retriable unless they describe the message itself (size, partition, topic, arguments).
/// Authentication failures are retriable: they are the client's configuration, not the message's.
/// Must not be called with RD_KAFKA_RESP_ERR_NO_ERROR.
DeliveryResult::Status classify_delivery_error(rd_kafka_resp_err_t err);

/// The result for a message whose delivery report (or produce call) returned `err`: delivered for
/// NO_ERROR, otherwise the classification with error_code = rd_kafka_err2name(err) and
/// error = rd_kafka_err2str(err).
DeliveryResult delivery_result(rd_kafka_resp_err_t err);

}  // namespace user_export
