#include "publish/kafka/producer_config.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "common/error.hpp"

namespace user_export {
namespace {

std::optional<std::string> find(const KafkaProperties& p, const std::string& name) {
  std::optional<std::string> value;
  for (const auto& [n, v] : p) {
    if (n == name) value = v;  // the last one wins, as in librdkafka
  }
  return value;
}

Config kafka_config() {
  Config c;
  c.kafka.bootstrap = "127.0.0.1:9092";
  return c;
}

TEST(ProducerConfigTest, DefaultsAreIdempotentAcksAllWithLimitsFromMessagesConfig) {
  Config c = kafka_config();
  c.messages.max_message_bytes = 500'000;
  c.messages.delivery_timeout = std::chrono::milliseconds{12'345};
  const KafkaProperties p = producer_properties(c);
  EXPECT_EQ(find(p, "bootstrap.servers"), "127.0.0.1:9092");
  EXPECT_EQ(find(p, "client.id"), "user-export");
  EXPECT_EQ(find(p, "acks"), "all");
  EXPECT_EQ(find(p, "enable.idempotence"), "true");
  EXPECT_EQ(find(p, "compression.type"), "zstd");
  EXPECT_EQ(find(p, "message.max.bytes"), std::to_string(500'000 + kMessageOverheadBytes));
  EXPECT_EQ(find(p, "message.timeout.ms"), "12345");
  EXPECT_EQ(find(p, "topic.metadata.propagation.max.ms"), "6172");
  EXPECT_FALSE(find(p, "security.protocol"));
  EXPECT_FALSE(find(p, "sasl.password"));
  EXPECT_NO_THROW(make_kafka_conf(p));
}

TEST(ProducerConfigTest, DefaultLimitStaysBelowTheBrokersDefaultMessageSize) {
  // Kafka brokers accept record batches up to 1048588 bytes unless configured otherwise.
  EXPECT_LT(Config{}.messages.max_message_bytes + kMessageOverheadBytes, 1'048'588u);
}

TEST(ProducerConfigTest, UnknownTopicWaitIsCappedAtLibrdkafkasDefault) {
  Config c = kafka_config();
  c.messages.delivery_timeout = std::chrono::milliseconds{300'000};
  EXPECT_EQ(find(producer_properties(c), "topic.metadata.propagation.max.ms"), "30000");
  c.messages.delivery_timeout = std::chrono::milliseconds{1};
  EXPECT_EQ(find(producer_properties(c), "topic.metadata.propagation.max.ms"), "1");
}

TEST(ProducerConfigTest, SecuritySettingsAreSetOnlyWhenGiven) {
  Config c = kafka_config();
  c.kafka.security_protocol = "SASL_SSL";
  c.kafka.sasl_mechanism = "SCRAM-SHA-512";
  c.kafka.sasl_username = "exporter";
  c.kafka.sasl_password = "s3cret";
  c.kafka.ssl_ca_location = "/etc/ssl/ca.pem";
  const KafkaProperties p = producer_properties(c);
  EXPECT_EQ(find(p, "security.protocol"), "SASL_SSL");
  EXPECT_EQ(find(p, "sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(find(p, "sasl.username"), "exporter");
  EXPECT_EQ(find(p, "sasl.password"), "s3cret");
  EXPECT_EQ(find(p, "ssl.ca.location"), "/etc/ssl/ca.pem");
}

TEST(ProducerConfigTest, ExtraPropertiesComeLastAndOverride) {
  Config c = kafka_config();
  c.kafka.extra = {{"linger.ms", "20"}, {"compression.type", "lz4"}};
  const KafkaProperties p = producer_properties(c);
  EXPECT_EQ(find(p, "linger.ms"), "20");
  EXPECT_EQ(find(p, "compression.type"), "lz4");
  EXPECT_EQ(p.back().first, "linger.ms");
}

TEST(ProducerConfigTest, EmptyCompressionMeansNone) {
  Config c = kafka_config();
  c.kafka.compression = "";
  EXPECT_EQ(find(producer_properties(c), "compression.type"), "none");
}

void expect_config_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected Error(kConfig) mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ProducerConfigTest, MissingBootstrapOrNonPositiveLimitsAreConfigErrors) {
  expect_config_error([] { producer_properties(Config{}); }, "kafka.bootstrap");
  Config c = kafka_config();
  c.messages.max_message_bytes = 0;
  expect_config_error([&] { producer_properties(c); }, "max_message_bytes");
  c = kafka_config();
  c.messages.delivery_timeout = std::chrono::milliseconds{0};
  expect_config_error([&] { producer_properties(c); }, "delivery_timeout_ms");
}

TEST(ProducerConfigTest, RejectedPropertyIsAConfigErrorNamingIt) {
  expect_config_error([] { make_kafka_conf({{"no.such.property", "1"}}); }, "no.such.property");
  expect_config_error([] { make_kafka_conf({{"compression.type", "bogus"}}); }, "compression.type");
}

}  // namespace
}  // namespace user_export
