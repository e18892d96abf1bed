// The Kafka sink against librdkafka's mock cluster: real Kafka protocol on loopback, faults
// injected per test, messages read back with an independent consumer.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "domain/message.hpp"
#include "observe/metrics.hpp"
#include "publish/kafka/kafka_sink.hpp"
#include "support/kafka/mock_cluster.hpp"
#include "support/kafka/topic_reader.hpp"
#include "support/services.hpp"

namespace user_export {
namespace {

using Status = DeliveryResult::Status;
using std::chrono::milliseconds;
using testing::ConsumedMessage;
using testing::MockCluster;
using testing::read_topic;
using Steady = std::chrono::steady_clock;

constexpr const char* kTopic = "flairbit-users";
constexpr const char* kDlq = "flairbit-dlq";
constexpr std::int16_t kProduceApi = 0;

OutboundMessage message(const std::string& key, const std::string& payload,
                        const std::string& topic = kTopic) {
  OutboundMessage m;
  m.run_id = RunId("run-" + key);
  m.topic = topic;
  m.key = key;
  m.payload = payload;
  m.headers = {{"runId", m.run_id.str()},
               {"schemaVersion", kSchemaVersion},
               {"contentType", "application/json"}};
  return m;
}

Labels series(const std::string& topic, const std::string& result) {
  return {{"topic", topic}, {"result", result}};
}

class KafkaSinkIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.create_topic(kTopic, 3, 3);
    cluster_.create_topic(kDlq, 3, 3);
  }

  Config config(milliseconds delivery_timeout = milliseconds{10'000}) const {
    Config c;
    c.kafka.bootstrap = cluster_.bootstrap();
    c.messages.delivery_timeout = delivery_timeout;
    return c;
  }

  std::vector<ConsumedMessage> read(const std::string& topic) const {
    return read_topic(cluster_.bootstrap(), topic, milliseconds{5000});
  }

  MockCluster cluster_{3};
  Metrics metrics_;
};

TEST_F(KafkaSinkIntegrationTest, MessagesArriveWithKeyHeadersAndPayload) {
  auto sink = make_kafka_sink(config(), &metrics_);
  const std::vector<OutboundMessage> batch = {message("group-a", R"({"n":1})"),
                                              message("group-b", R"({"n":2})"),
                                              message("group-c", R"({"n":3})")};
  const auto results = sink->publish(batch);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.status, Status::kDelivered) << r.error;

  std::map<std::string, ConsumedMessage> by_key;
  for (auto& m : read(kTopic)) by_key.emplace(m.key.value_or(""), m);
  ASSERT_EQ(by_key.size(), 3u);
  for (const auto& sent : batch) {
    const ConsumedMessage& got = by_key.at(sent.key);
    EXPECT_EQ(got.value, sent.payload);
    EXPECT_EQ(got.header("runId"), sent.run_id.str());
    EXPECT_EQ(got.header("schemaVersion"), kSchemaVersion);
    EXPECT_EQ(got.header("contentType"), "application/json");
  }
  EXPECT_EQ(metrics_.value("users_export_kafka_messages_total", series(kTopic, "delivered")), 3);
  EXPECT_EQ(metrics_.value("users_export_kafka_delivery_seconds", {{"topic", kTopic}}), 3);
}

TEST_F(KafkaSinkIntegrationTest, AllBrokersDownIsRetriableWithinTheTimeoutThenDeliveredWhenUp) {
  Config c = config(milliseconds{2000});
  // Reconnect quickly once the brokers are back (librdkafka's default backs off up to 10 s).
  c.kafka.extra = {{"reconnect.backoff.max.ms", "250"}};
  auto sink = make_kafka_sink(c, &metrics_);
  cluster_.all_down();

  const auto start = Steady::now();
  const auto down = sink->publish(std::vector{message("g", "lost-1"), message("h", "lost-2")});
  const auto elapsed = Steady::now() - start;
  for (const auto& r : down) {
    EXPECT_EQ(r.status, Status::kRetriable);
    EXPECT_EQ(r.error_code, "_MSG_TIMED_OUT") << r.error;
  }
  // librdkafka's own timeout ends the wait (it scans once a second), not the sink's deadline of
  // the delivery timeout plus 5 s.
  EXPECT_GE(elapsed, milliseconds{2000});
  EXPECT_LT(elapsed, milliseconds{2000 + 2500});

  cluster_.all_up();
  const auto up = sink->publish(std::vector{message("g", "kept-1"), message("h", "kept-2")});
  for (const auto& r : up) EXPECT_EQ(r.status, Status::kDelivered) << r.error;

  std::multiset<std::string> values;
  for (const auto& m : read(kTopic)) values.insert(m.value.value_or(""));
  EXPECT_EQ(values, (std::multiset<std::string>{"kept-1", "kept-2"}));
  EXPECT_EQ(metrics_.value("users_export_kafka_messages_total", series(kTopic, "retriable")), 2);
  EXPECT_EQ(metrics_.value("users_export_kafka_messages_total", series(kTopic, "delivered")), 2);
}

class InjectedFatalErrorTest : public KafkaSinkIntegrationTest,
                               public ::testing::WithParamInterface<rd_kafka_resp_err_t> {};

TEST_P(InjectedFatalErrorTest, IsFatalWithLibrdkafkasNameAndNothingIsStored) {
  auto sink = make_kafka_sink(config(), &metrics_);
  cluster_.push_request_errors(kProduceApi, GetParam(), 1);
  const auto results = sink->publish(std::vector{message("g", "rejected")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, Status::kFatal);
  EXPECT_EQ(results[0].error_code, rd_kafka_err2name(GetParam()));
  EXPECT_EQ(results[0].error, rd_kafka_err2str(GetParam()));
  EXPECT_TRUE(read(kTopic).empty());
  EXPECT_EQ(metrics_.value("users_export_kafka_messages_total", series(kTopic, "fatal")), 1);
}

INSTANTIATE_TEST_SUITE_P(BrokerErrors, InjectedFatalErrorTest,
                         ::testing::Values(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                           RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                           RD_KAFKA_RESP_ERR_INVALID_RECORD),
                         [](const auto& info) {
                           return std::string(rd_kafka_err2name(info.param));
                         });

TEST_F(KafkaSinkIntegrationTest, UnknownTopicIsFatalBeforeTheDeliveryTimeout) {
  auto sink = make_kafka_sink(config(milliseconds{4000}), &metrics_);
  cluster_.set_topic_error("no-such-topic", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  const auto start = Steady::now();
  const auto first = sink->publish(std::vector{message("g", "lost", "no-such-topic")});
  EXPECT_LT(Steady::now() - start, milliseconds{4000});
  EXPECT_EQ(first.at(0).status, Status::kFatal);
  EXPECT_EQ(first[0].error_code, "UNKNOWN_TOPIC_OR_PART") << first[0].error;
  // The producer remembers the topic is missing and fails later messages at once.
  const auto second = sink->publish(std::vector{message("g", "lost", "no-such-topic")});
  EXPECT_EQ(second.at(0).status, Status::kFatal);
  EXPECT_EQ(second[0].error_code, "_UNKNOWN_TOPIC") << second[0].error;
}

TEST_F(KafkaSinkIntegrationTest, TransientBrokerErrorsAreRetriedWithoutDuplicates) {
  auto sink = make_kafka_sink(config(), &metrics_);
  cluster_.push_request_errors(kProduceApi, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 2);
  const auto results = sink->publish(std::vector{message("g", "once")});
  EXPECT_EQ(results.at(0).status, Status::kDelivered) << results[0].error;
  const auto stored = read(kTopic);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].value, "once");
}

TEST_F(KafkaSinkIntegrationTest, FatalProducerErrorIsRetriableAndTheProducerIsReplaced) {
  auto sink = make_kafka_sink(config(), &metrics_);
  ASSERT_EQ(sink->publish(std::vector{message("g", "first")}).at(0).status, Status::kDelivered);
  // A sequence gap on an idempotent producer is a fatal error of the producer itself.
  cluster_.push_request_errors(kProduceApi, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 1);
  const DeliveryResult failed = sink->publish(std::vector{message("g", "second")}).at(0);
  EXPECT_EQ(failed.status, Status::kRetriable);
  EXPECT_EQ(failed.error_code, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  EXPECT_NE(failed.error.find("replaced"), std::string::npos) << failed.error;
  EXPECT_EQ(metrics_.value("users_export_kafka_producer_restarts_total"), 1);

  const DeliveryResult retried = sink->publish(std::vector{message("g", "second")}).at(0);
  EXPECT_EQ(retried.status, Status::kDelivered) << retried.error;
  std::vector<std::string> values;
  for (const auto& m : read(kTopic)) values.push_back(m.value.value_or(""));
  EXPECT_EQ(values, (std::vector<std::string>{"first", "second"}));
}

TEST_F(KafkaSinkIntegrationTest, DeadLetterArrivesOnTheDlqTopicWithEveryReasonHeader) {
  auto sink = make_kafka_sink(config(), &metrics_);
  const OutboundMessage original = message("group-x", R"({"payload":"USERS_EXPORT_FILE"})");
  const auto before = std::chrono::system_clock::now();
  const DeliveryResult r =
      sink->publish_dead_letter(original, DeadLetter{kTopic, "TOPIC_AUTHORIZATION_FAILED",
                                                     "Broker: Topic authorization "
                                                     "failed",
                                                     3});
  ASSERT_EQ(r.status, Status::kDelivered) << r.error;

  const auto letters = read(kDlq);
  ASSERT_EQ(letters.size(), 1u);
  const ConsumedMessage& d = letters[0];
  EXPECT_EQ(d.key, "group-x");
  EXPECT_EQ(d.value, original.payload);
  EXPECT_EQ(d.header("runId"), original.run_id.str());
  EXPECT_EQ(d.header("schemaVersion"), kSchemaVersion);
  EXPECT_EQ(d.header("contentType"), "application/json");
  EXPECT_EQ(d.header("dlt-original-topic"), kTopic);
  EXPECT_EQ(d.header("dlt-exception-code"), "TOPIC_AUTHORIZATION_FAILED");
  EXPECT_EQ(d.header("dlt-exception-message"), "Broker: Topic authorization failed");
  EXPECT_EQ(d.header("dlt-attempts"), "3");
  const auto stamp = parse_iso8601(d.header("dlt-timestamp").value_or(""));
  ASSERT_TRUE(stamp) << d.header("dlt-timestamp").value_or("(none)");
  EXPECT_GE(*stamp, std::chrono::floor<std::chrono::milliseconds>(before));
  EXPECT_TRUE(read(kTopic).empty());
  EXPECT_EQ(metrics_.value("users_export_kafka_messages_total", series(kDlq, "delivered")), 1);
}

TEST_F(KafkaSinkIntegrationTest, OversizeMessagesAreFatalAndTheRestOfTheBatchIsDelivered) {
  Config c = config();
  c.messages.max_message_bytes = 10'000;
  auto sink = make_kafka_sink(c, &metrics_);
  OutboundMessage huge_headers = message("h", "small");
  huge_headers.headers.emplace_back("padding", std::string(64 * 1024, 'p'));
  const std::vector<OutboundMessage> batch = {message("a", "small"),
                                              message("b", std::string(10'001, 'x')),
                                              message("c", std::string(10'000, 'y')), huge_headers};
  const auto results = sink->publish(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, Status::kDelivered) << results[0].error;
  EXPECT_EQ(results[1].status, Status::kFatal);
  EXPECT_EQ(results[1].error_code, "MSG_SIZE_TOO_LARGE");
  EXPECT_NE(results[1].error.find("max_message_bytes=10000"), std::string::npos);
  EXPECT_EQ(results[2].status, Status::kDelivered) << results[2].error;  // exactly the limit
  EXPECT_EQ(results[3].status, Status::kFatal);  // rejected by librdkafka's message.max.bytes
  EXPECT_EQ(results[3].error_code, "MSG_SIZE_TOO_LARGE");

  std::set<std::string> keys;
  for (const auto& m : read(kTopic)) keys.insert(m.key.value_or(""));
  EXPECT_EQ(keys, (std::set<std::string>{"a", "c"}));

  // The oversize message can still be dead-lettered: its value is left out.
  const DeliveryResult dead = sink->publish_dead_letter(
      batch[1], DeadLetter{kTopic, results[1].error_code, results[1].error, 1});
  ASSERT_EQ(dead.status, Status::kDelivered) << dead.error;
  const auto letters = read(kDlq);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].header("dlt-value-bytes"), "10001");
  EXPECT_FALSE(letters[0].value);
}

TEST_F(KafkaSinkIntegrationTest, ThousandMessagesAreDeliveredInOrderPerPartition) {
  auto sink = make_kafka_sink(config(), &metrics_);
  std::vector<OutboundMessage> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(message("group-" + std::to_string(i % 10), std::to_string(i)));
  }
  const auto results = sink->publish(batch);
  ASSERT_EQ(results.size(), 1000u);
  for (const auto& r : results) ASSERT_EQ(r.status, Status::kDelivered) << r.error;

  const auto stored = read(kTopic);
  ASSERT_EQ(stored.size(), 1000u);
  std::map<std::int32_t, int> last_in_partition;
  std::map<std::string, std::int32_t> partition_of_key;
  std::set<int> seen;
  for (const auto& m : stored) {  // partition order, then offset order
    const int n = std::stoi(m.value.value_or("-1"));
    seen.insert(n);
    auto [it, fresh] = last_in_partition.emplace(m.partition, n);
    if (!fresh) {
      EXPECT_GT(n, it->second) << "partition " << m.partition << " offset " << m.offset;
      it->second = n;
    }
    auto [p, new_key] = partition_of_key.emplace(m.key.value_or(""), m.partition);
    EXPECT_EQ(p->second, m.partition) << "key " << p->first << " spread over partitions";
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_GT(last_in_partition.size(), 1u);  // the keys spread over the partitions
}

TEST_F(KafkaSinkIntegrationTest, ConcurrentPublishersAreAllDelivered) {
  auto sink = make_kafka_sink(config(), &metrics_);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  std::vector<int> delivered(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i += 10) {
        std::vector<OutboundMessage> batch;
        for (int j = i; j < i + 10; ++j) {
          batch.push_back(message("t" + std::to_string(t), std::to_string(t * 1000 + j)));
        }
        for (const auto& r : sink->publish(batch)) {
          delivered[t] += r.status == Status::kDelivered ? 1 : 0;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(delivered[t], kPerThread);
  std::set<std::string> values;
  for (const auto& m : read(kTopic)) values.insert(m.value.value_or(""));
  EXPECT_EQ(values.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

void expect_config_error(const Config& c, const std::string& needle) {
  try {
    make_kafka_sink(c, nullptr);
    FAIL() << "expected Error(kConfig) mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(KafkaSinkIntegrationTest, RejectedPropertiesAreConfigErrors) {
  Config c = config();
  c.kafka.extra = {{"no.such.property", "1"}};
  expect_config_error(c, "no.such.property");
  c.kafka.extra = {{"acks", "1"}};  // contradicts enable.idempotence
  expect_config_error(c, "acks");
  c.kafka.extra = {};
  c.kafka.compression = "brotli";
  expect_config_error(c, "compression.type");
}

// The shared mock cluster started by scripts/services/kafka.sh (run-tests.sh sets the variable).
TEST(KafkaSinkServiceTest, DeliversToTheSharedMockCluster) {
  const char* bootstrap = std::getenv("UE_TEST_KAFKA_BOOTSTRAP");
  UE_SKIP_UNLESS_SERVICE(bootstrap != nullptr && *bootstrap != '\0',
                         "UE_TEST_KAFKA_BOOTSTRAP is not set; start scripts/services/kafka.sh");
  // A topic of its own: other tests may use the shared cluster at the same time.
  const std::string topic =
      "user-export-it-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  Config c;
  c.kafka.bootstrap = bootstrap;
  auto sink = make_kafka_sink(c, nullptr);
  const auto results = sink->publish(std::vector{message("shared", "hello", topic)});
  ASSERT_EQ(results.at(0).status, Status::kDelivered) << results[0].error;
  const auto stored = read_topic(bootstrap, topic, milliseconds{5000});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].key, "shared");
  EXPECT_EQ(stored[0].value, "hello");
}

}  // namespace
}  // namespace user_export
