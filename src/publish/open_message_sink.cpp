#include "common/error.hpp"
#include "config/config.hpp"
#include "publish/jsonl/jsonl_sink.hpp"
#include "publish/kafka/kafka_sink.hpp"
#include "publish/message_sink.hpp"

namespace user_export {

std::unique_ptr<MessageSink> open_message_sink(const Config& config, Metrics* metrics) {
  if (!config.kafka.bootstrap.empty()) return make_kafka_sink(config, metrics);
  if (config.messages.file.empty()) {
    throw Error(ErrorCode::kConfig,
                "no message destination configured; set kafka.bootstrap "
                "(USER_EXPORT_KAFKA_BOOTSTRAP) for Kafka or messages.file "
                "(USER_EXPORT_MESSAGES_FILE) for a JSON-lines file");
  }
  static const SystemClock clock;
  return std::make_unique<JsonlSink>(config.messages.file, config.messages.dlq_topic, clock);
}

}  // namespace user_export
