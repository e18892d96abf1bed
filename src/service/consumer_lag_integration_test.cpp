// ConsumerLagProbe against a real Kafka protocol peer: the shared librdkafka mock cluster of
// scripts/services/kafka.sh (UE_TEST_KAFKA_BOOTSTRAP). Messages are produced to a topic of the
// test's own, a consumer group commits offsets with a plain librdkafka consumer, and the probe
// must report exactly the messages the group has not committed.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "publish/kafka/producer_config.hpp"
#include "service/consumer_lag.hpp"
#include "support/services.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr int kMessages = 30;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                         decltype(&rd_kafka_topic_partition_list_destroy)>;

HandlePtr make_handle(rd_kafka_type_t type, const KafkaProperties& props) {
  KafkaConfPtr conf = make_kafka_conf(props);
  char reason[512] = {};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), reason, sizeof reason);
  if (rk == nullptr) throw std::runtime_error(std::string("rd_kafka_new: ") + reason);
  conf.release();
  return HandlePtr(rk);
}

std::string unique_name(const std::string& stem) {
  return stem + "-" + std::to_string(Steady::now().time_since_epoch().count());
}

/// A consumer of `group` that reads `topic` from the beginning of every partition (manual
/// assignment, no group membership) and commits what it read synchronously, as a downstream
/// consumer does.
class GroupConsumer {
 public:
  GroupConsumer(const std::string& bootstrap, const std::string& group, const std::string& topic)
      : topic_(topic),
        rk_(make_handle(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                            {"group.id", group},
                                            {"enable.auto.commit", "false"},
                                            {"enable.auto.offset.store", "false"},
                                            {"auto.offset.reset", "earliest"},
                                            {"fetch.wait.max.ms", "50"}})) {
    rd_kafka_poll_set_consumer(rk_.get());
    const rd_kafka_metadata_t* meta = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
    const auto err = rd_kafka_metadata(rk_.get(), 0, rkt, &meta, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(err));
    }
    PartitionListPtr list(rd_kafka_topic_partition_list_new(meta->topics[0].partition_cnt),
                          &rd_kafka_topic_partition_list_destroy);
    for (int i = 0; i < meta->topics[0].partition_cnt; ++i) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), meta->topics[0].partitions[i].id)
          ->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    partitions_ = meta->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(meta);
    const auto assigned = rd_kafka_assign(rk_.get(), list.get());
    if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(assigned));
    }
  }

  ~GroupConsumer() {
    rd_kafka_assign(rk_.get(), nullptr);
    rd_kafka_consumer_close(rk_.get());
  }

  /// Reads `count` more messages (fails the test if they do not arrive within 20 s).
  void consume(int count) {
    const auto deadline = Steady::now() + 20s;
    while (count > 0 && Steady::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        next_[m->partition] = m->offset + 1;
        --count;
      }
      rd_kafka_message_destroy(m);
    }
    ASSERT_EQ(count, 0) << "messages did not arrive";
  }

  /// Commits the offset after the last message read of every partition read from, and waits
  /// for the broker to confirm it.
  void commit() {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next_.size())),
                          &rd_kafka_topic_partition_list_destroy);
    for (const auto& [partition, offset] : next_) {
      rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)->offset = offset;
    }
    const auto err = rd_kafka_commit(rk_.get(), list.get(), 0);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    for (int i = 0; i < list->cnt; ++i) {
      ASSERT_EQ(list->elems[i].err, RD_KAFKA_RESP_ERR_NO_ERROR)
          << "partition " << list->elems[i].partition << ": "
          << rd_kafka_err2str(list->elems[i].err);
    }
  }

  /// Partitions the consumer read from so far.
  std::size_t partitions_read() const { return next_.size(); }
  /// Partitions of the topic.
  int partitions() const { return partitions_; }

 private:
  std::string topic_;
  HandlePtr rk_;
  int partitions_ = 0;
  std::map<std::int32_t, std::int64_t> next_;
};

class ConsumerLagIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bootstrap = std::getenv("UE_TEST_KAFKA_BOOTSTRAP");
    UE_SKIP_UNLESS_SERVICE(bootstrap != nullptr && *bootstrap != '\0',
                           "UE_TEST_KAFKA_BOOTSTRAP is not set; start scripts/services/kafka.sh");
    bootstrap_ = bootstrap;
    topic_ = unique_name("user-export-lag-it");  // other tests share the cluster
  }

  /// Produces `count` messages with distinct keys (spread over the partitions) and waits until
  /// every one is acknowledged.
  void produce(int count) {
    auto producer = make_handle(
        RD_KAFKA_PRODUCER,
        {{"bootstrap.servers", bootstrap_}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
    for (int i = 0; i < count; ++i) {
      const std::string key = "key-" + std::to_string(i);
      const std::string value = "message " + std::to_string(i);
      const auto err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    }
    ASSERT_EQ(rd_kafka_flush(producer.get(), 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_outq_len(producer.get()), 0);
  }

  std::int64_t lag_of(const std::string& group) {
    Config config;
    config.kafka.bootstrap = bootstrap_;
    config.messages.delivery_timeout = 10s;
    ConsumerLagProbe probe(config, group, topic_);
    return probe.lag();
  }

  std::string bootstrap_;
  std::string topic_;
};

TEST_F(ConsumerLagIntegrationTest, ReadsTheUncommittedMessagesOfAGroupThenZeroAtTheEnd) {
  produce(kMessages);
  const std::string group = unique_name("downstream");
  GroupConsumer consumer(bootstrap_, group, topic_);
  ASSERT_GT(consumer.partitions(), 1) << "the lag is to be summed over several partitions";

  consumer.consume(12);
  consumer.commit();
  // Partitions the consumer has not read from yet have no committed offset: they count whole.
  EXPECT_EQ(lag_of(group), kMessages - 12);

  consumer.consume(kMessages - 12);
  consumer.commit();
  EXPECT_EQ(consumer.partitions_read(), static_cast<std::size_t>(consumer.partitions()))
      << "every partition got messages";
  EXPECT_EQ(lag_of(group), 0);

  // New messages after the commit are lag again.
  produce(5);
  EXPECT_EQ(lag_of(group), 5);
}

TEST_F(ConsumerLagIntegrationTest, AGroupThatNeverCommittedLagsByTheWholeTopic) {
  produce(kMessages);
  EXPECT_EQ(lag_of(unique_name("never-committed")), kMessages);
}

TEST_F(ConsumerLagIntegrationTest, ATopicNothingWasPublishedToHasNoLag) {
  EXPECT_EQ(lag_of(unique_name("downstream")), 0);
}

TEST(ConsumerLagUnreachableTest, ABrokerThatDoesNotAnswerIsARetriableError) {
  Config config;
  config.kafka.bootstrap = "127.0.0.1:1";  // nothing listens there
  config.messages.delivery_timeout = 1500ms;
  ConsumerLagProbe probe(config, "downstream", "flairbit-users");
  try {
    probe.lag();
    FAIL() << "a lag was read without a broker";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPublish);
    EXPECT_TRUE(e.retriable()) << e.what();
  }
}

}  // namespace
}  // namespace user_export
