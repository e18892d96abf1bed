#include "publish/kafka/producer_config.hpp"

#include <algorithm>
#include <cstdint>

#include "common/error.hpp"

namespace user_export {

KafkaProperties producer_properties(const Config& config) {
  const KafkaConfig& kafka = config.kafka;
  const MessagesConfig& messages = config.messages;
  if (kafka.bootstrap.empty()) {
    throw Error(ErrorCode::kConfig,
                "kafka.bootstrap is empty: set [kafka] bootstrap or USER_EXPORT_KAFKA_BOOTSTRAP "
                "to the brokers' host:port list, or leave it unset to write messages to the "
                "JSON-lines file");
  }
  if (messages.max_message_bytes == 0) {
    throw Error(ErrorCode::kConfig,
                "messages.max_message_bytes is 0: set it to the broker's message size limit "
                "(e.g. 1000000)");
  }
  if (messages.delivery_timeout.count() <= 0) {
    throw Error(ErrorCode::kConfig,
                "messages.delivery_timeout_ms must be positive: set how long a message may wait "
                "for the broker's acknowledgement (e.g. 30000)");
  }
  KafkaProperties p = {
      {"bootstrap.servers", kafka.bootstrap},
      {"client.id", kafka.client_id},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"compression.type", kafka.compression.empty() ? "none" : kafka.compression},
      {"message.max.bytes", std::to_string(messages.max_message_bytes + kMessageOverheadBytes)},
      {"message.timeout.ms", std::to_string(messages.delivery_timeout.count())},
      // A topic the cluster reports unknown fails its messages with UNKNOWN_TOPIC_OR_PART (fatal)
      // after this long; librdkafka's 30 s default would outlast the delivery timeout and turn a
      // missing topic into endless retriable timeouts.
      {"topic.metadata.propagation.max.ms",
       std::to_string(std::clamp<std::int64_t>(messages.delivery_timeout.count() / 2, 1, 30'000))},
  };
  if (!kafka.security_protocol.empty())
    p.emplace_back("security.protocol", kafka.security_protocol);
  if (!kafka.sasl_mechanism.empty()) p.emplace_back("sasl.mechanisms", kafka.sasl_mechanism);
  if (!kafka.sasl_username.empty()) p.emplace_back("sasl.username", kafka.sasl_username);
  if (!kafka.sasl_password.empty()) p.emplace_back("sasl.password", kafka.sasl_password);
  if (!kafka.ssl_ca_location.empty()) p.emplace_back("ssl.ca.location", kafka.ssl_ca_location);
  for (const auto& [name, value] : kafka.extra) p.emplace_back(name, value);
  return p;
}

KafkaConfPtr make_kafka_conf(const KafkaProperties& properties) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  char reason[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason, sizeof reason) !=
        RD_KAFKA_CONF_OK) {
      throw Error(ErrorCode::kConfig, "Kafka property '" + name + "' was rejected by librdkafka (" +
                                          reason +
                                          "); fix or remove it in [kafka] or [kafka.properties]");
    }
  }
  return conf;
}

}  // namespace user_export
