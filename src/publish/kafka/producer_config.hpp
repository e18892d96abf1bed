#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace user_export {

/// Ordered librdkafka property names and values.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

/// Bytes librdkafka's `message.max.bytes` allows beyond `messages.max_message_bytes`, for the key,
/// the headers and the record framing, so a payload of exactly the configured maximum is sent.
inline constexpr std::size_t kMessageOverheadBytes = 32 * 1024;

/// The producer properties for `config`, in the order they are applied: bootstrap.servers,
/// client.id, acks=all, enable.idempotence=true, compression.type, message.max.bytes,
/// message.timeout.ms, topic.metadata.propagation.max.ms (half the delivery timeout, at most 30 s,
/// so an unknown topic fails as such before the timeout), then security.protocol / sasl.* /
/// ssl.ca.location when set, then every `kafka.extra` property (which may override any earlier
/// one). Throws Error(kConfig) when the bootstrap servers are empty or a limit is not positive.
KafkaProperties producer_properties(const Config& config);

/// Frees a librdkafka configuration object that was not handed to rd_kafka_new().
struct KafkaConfDeleter {
  /// Destroys `conf`.
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};

/// An owned librdkafka configuration object.
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;

/// A librdkafka configuration holding `properties`. Throws Error(kConfig) naming the first
/// property librdkafka rejects (unknown name or invalid value) with librdkafka's reason.
KafkaConfPtr make_kafka_conf(const KafkaProperties& properties);

}  // namespace user_export
