#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "config/config.hpp"
#include "publish/message_sink.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

TEST(OpenMessageSink, WithoutKafkaWritesTheJsonLinesFile) {
  const testing::TempDir dir("ue-open-sink");
  Config config;
  config.messages.file = (dir / "out" / "messages.jsonl").string();
  config.messages.dlq_topic = "my-dlq";
  auto sink = open_message_sink(config);
  OutboundMessage m;
  m.topic = "flairbit-users";
  m.key = "k";
  m.payload = R"({"a":1})";
  std::vector<OutboundMessage> batch = {m};
  ASSERT_EQ(sink->publish(batch).at(0).status, DeliveryResult::Status::kDelivered);
  ASSERT_EQ(sink->publish_dead_letter(m, DeadLetter{"flairbit-users", "E", "e", 1}).status,
            DeliveryResult::Status::kDelivered);
  std::ifstream in(config.messages.file);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(nlohmann::json::parse(line)["value"]["a"], 1);
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(nlohmann::json::parse(line)["topic"], "my-dlq");
}

TEST(OpenMessageSink, KafkaBootstrapSelectsTheKafkaProducer) {
  Config config;
  config.messages.file = "/tmp/unused.jsonl";
  config.kafka.bootstrap = "127.0.0.1:1";
  config.kafka.extra["no.such.librdkafka.property"] = "1";
  try {
    open_message_sink(config);  // librdkafka itself rejects the property: the Kafka path ran
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("no.such.librdkafka.property"), std::string::npos);
  }
}

TEST(OpenMessageSink, NoDestinationIsAConfigError) {
  Config config;
  try {
    open_message_sink(config);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("USER_EXPORT_MESSAGES_FILE"), std::string::npos);
  }
}

}  // namespace
}  // namespace user_export
