#include "support/kafka/topic_reader.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "publish/kafka/producer_config.hpp"
#include "publish/kafka/rdkafka_logging.hpp"

namespace user_export::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

HandlePtr make_consumer(const std::string& bootstrap) {
  KafkaConfPtr conf = make_kafka_conf({{"bootstrap.servers", bootstrap},
                                       {"group.id", "user-export-topic-reader"},
                                       {"enable.auto.commit", "false"},
                                       {"enable.auto.offset.store", "false"},
                                       {"enable.partition.eof", "true"},
                                       {"fetch.wait.max.ms", "100"}});
  route_rdkafka_logs_to_spdlog(conf.get());
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason, sizeof reason);
  if (rk == nullptr) {
    throw Error(ErrorCode::kPublish, std::string("cannot create a Kafka consumer: ") + reason);
  }
  conf.release();
  rd_kafka_poll_set_consumer(rk);
  return HandlePtr(rk);
}

/// The partition count of `topic`, 0 if the cluster does not know it, retried until `deadline`
/// while the cluster is unreachable or still electing leaders.
int partition_count(rd_kafka_t* rk, const std::string& topic, Clock::time_point deadline) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(rk, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt.get(), &md, 5000);
    int partitions = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
      err = md->topics[0].err;
      if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) partitions = 0;
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) partitions = md->topics[0].partition_cnt;
    }
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    if (partitions >= 0) return partitions;
    if (Clock::now() >= deadline) {
      throw Error(ErrorCode::kPublish,
                  "cannot read metadata of topic " + topic + ": " + rd_kafka_err2str(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

ConsumedMessage convert(const rd_kafka_message_t& m) {
  ConsumedMessage out;
  out.topic = rd_kafka_topic_name(m.rkt);
  out.partition = m.partition;
  out.offset = m.offset;
  if (m.key != nullptr) out.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) out.value.emplace(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      std::optional<std::string> v;
      if (value != nullptr) v.emplace(static_cast<const char*>(value), size);
      out.headers.emplace_back(name, std::move(v));
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> ConsumedMessage::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::vector<ConsumedMessage> read_topic(const std::string& bootstrap, const std::string& topic,
                                        std::chrono::milliseconds idle,
                                        std::chrono::milliseconds max_wait) {
  const auto deadline = Clock::now() + max_wait;
  HandlePtr consumer = make_consumer(bootstrap);
  const int partitions = partition_count(consumer.get(), topic, deadline);
  if (partitions == 0) return {};

  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      assignment(rd_kafka_topic_partition_list_new(partitions),
                 &rd_kafka_topic_partition_list_destroy);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer.get(), assignment.get()); err) {
    throw Error(ErrorCode::kPublish,
                "cannot assign partitions of " + topic + ": " + rd_kafka_err2str(err));
  }

  std::vector<ConsumedMessage> out;
  std::set<std::int32_t> at_end;
  auto last_activity = Clock::now();
  while (static_cast<int>(at_end.size()) < partitions && Clock::now() < deadline &&
         Clock::now() - last_activity < idle) {
    MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 50));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; logged by librdkafka
    at_end.erase(m->partition);
    out.push_back(convert(*m));
    last_activity = Clock::now();
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

std::string to_json_line(const ConsumedMessage& message) {
  using Json = nlohmann::ordered_json;
  auto optional = [](const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); };
  Json headers = Json::object();
  for (const auto& [name, value] : message.headers) headers[name] = optional(value);
  Json j = Json::object();
  j["topic"] = message.topic;
  j["partition"] = message.partition;
  j["offset"] = message.offset;
  j["key"] = optional(message.key);
  j["headers"] = std::move(headers);
  j["value"] = optional(message.value);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace user_export::testing
