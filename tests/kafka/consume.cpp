// Reads a topic from the beginning and prints one JSON line per record: an independent reader
// for tests.
//
//   kafka_consume --bootstrap HOST:PORT,... --topic TOPIC [--idle-ms N] [--max-wait-ms M]
//                 [--commit-group GROUP]
//
// Stops when every partition reached its end, when nothing arrived for N ms (default 2000), or
// after M ms (default 30000). Each line: {"topic","partition","offset","key","headers","value"}.
// With --commit-group, it then commits the offset after the last record of every partition read
// for consumer group GROUP and waits for the broker to confirm, as a downstream consumer that
// caught up does (tests of the consumer-lag back-pressure).
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "publish/kafka/producer_config.hpp"
#include "support/kafka/topic_reader.hpp"

namespace {

/// Commits, for `group`, the offset after the last of `records` in each partition.
void commit_offsets(const std::string& bootstrap, const std::string& group,
                    const std::string& topic,
                    const std::vector<user_export::testing::ConsumedMessage>& records) {
  std::map<std::int32_t, std::int64_t> next;
  for (const auto& r : records) next[r.partition] = std::max(next[r.partition], r.offset + 1);
  if (next.empty()) return;
  user_export::KafkaConfPtr conf = user_export::make_kafka_conf(
      {{"bootstrap.servers", bootstrap}, {"group.id", group}, {"enable.auto.commit", "false"}});
  char reason[512] = {};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason, sizeof reason);
  if (rk == nullptr) throw std::runtime_error(std::string("cannot create a consumer: ") + reason);
  conf.release();
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> owned(rk, &rd_kafka_destroy);
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())),
           &rd_kafka_topic_partition_list_destroy);
  for (const auto& [partition, offset] : next) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk, list.get(), 0);
  for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) {
    err = list->elems[i].err;
  }
  rd_kafka_consumer_close(rk);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("cannot commit the offsets of group " + group + ": " +
                             rd_kafka_err2str(err));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap;
  std::string topic;
  long idle_ms = 2000;
  long max_wait_ms = 30000;
  std::string commit_group;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (i + 1 >= argc) {
        bootstrap.clear();
        break;
      }
      if (arg == "--bootstrap") {
        bootstrap = argv[++i];
      } else if (arg == "--topic") {
        topic = argv[++i];
      } else if (arg == "--idle-ms") {
        idle_ms = std::stol(argv[++i]);
      } else if (arg == "--max-wait-ms") {
        max_wait_ms = std::stol(argv[++i]);
      } else if (arg == "--commit-group") {
        commit_group = argv[++i];
      } else {
        bootstrap.clear();
        break;
      }
    }
    if (bootstrap.empty() || topic.empty()) {
      std::cerr << "usage: " << argv[0]
                << " --bootstrap HOST:PORT,... --topic TOPIC [--idle-ms N] [--max-wait-ms M]"
                   " [--commit-group GROUP]\n";
      return 2;
    }
    const auto records =
        user_export::testing::read_topic(bootstrap, topic, std::chrono::milliseconds{idle_ms},
                                         std::chrono::milliseconds{max_wait_ms});
    for (const auto& record : records)
      std::cout << user_export::testing::to_json_line(record) << "\n";
    std::cout.flush();
    if (!commit_group.empty()) commit_offsets(bootstrap, commit_group, topic, records);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kafka_consume: " << e.what() << "\n";
    return 1;
  }
}
