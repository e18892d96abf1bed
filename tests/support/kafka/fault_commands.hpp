#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "support/kafka/mock_cluster.hpp"

namespace user_export::testing {

/// The answer to one control line.
struct FaultCommandReply {
  std::string text;   ///< `OK`, `ERR reason`, or empty for a blank or `#` comment line
  bool quit = false;  ///< the line was `quit`
};

/// Applies one line of the mock cluster's control protocol to `cluster`:
///   broker_down ID | broker_up ID | all_down | all_up | rtt ID MS
///   error APIKEY ERRCODE COUNT     next COUNT requests of APIKEY fail with ERRCODE
///   topic_error TOPIC ERRCODE      metadata for TOPIC reports ERRCODE (NO_ERROR clears)
///   topic_create NAME PARTITIONS [REPLICATION]
///   quit
/// APIKEY is a name (Produce, Metadata, InitProducerId, …) or a number; ERRCODE is a librdkafka
/// error name as rd_kafka_err2name prints it (MSG_SIZE_TOO_LARGE, _TRANSPORT), optionally with
/// the RD_KAFKA_RESP_ERR_ prefix, or a number. Never throws; failures become `ERR reason`.
FaultCommandReply apply_fault_command(MockCluster& cluster, std::string_view line);

/// The librdkafka error code named `text` (see apply_fault_command), or nullopt.
std::optional<rd_kafka_resp_err_t> parse_error_code(std::string_view text);

/// The Kafka protocol API key named `text` (case-insensitive name, or a number), or nullopt.
std::optional<std::int16_t> parse_api_key(std::string_view text);

}  // namespace user_export::testing
