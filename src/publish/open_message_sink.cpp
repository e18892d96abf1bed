#include "common/error.hpp"
#include "config/config.hpp"
#include "publish/jsonl/jsonl_sink.hpp"
#include "publish/message_sink.hpp"

namespace user_export {

std::unique_ptr<MessageSink> open_message_sink(const Config& config) {
  if (!config.kafka.bootstrap.empty()) {
    throw Error(ErrorCode::kConfig,
                "the Kafka publisher is not built into this binary; unset kafka.bootstrap "
                "(USER_EXPORT_KAFKA_BOOTSTRAP) to write messages to the JSON-lines file "
                "messages.file, or use a build that includes Kafka support");
  }
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
