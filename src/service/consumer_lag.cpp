#include "service/consumer_lag.hpp"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "common/error.hpp"
#include "publish/kafka/producer_config.hpp"
#include "publish/kafka/rdkafka_logging.hpp"

namespace user_export {
namespace {

Error lag_error(const std::string& what, rd_kafka_resp_err_t err) {
  return Error(ErrorCode::kPublish,
               "cannot read the consumer lag: " + what + ": " + rd_kafka_err2str(err) +
                   "; check kafka.bootstrap and that the broker is reachable",
               true);
}

}  // namespace

ConsumerLagProbe::ConsumerLagProbe(const Config& config, std::string group, std::string topic)
    : group_(std::move(group)), topic_(std::move(topic)) {
  timeout_ms_ = static_cast<int>(config.messages.delivery_timeout.count());
  KafkaProperties props;
  for (const auto& [name, value] : producer_properties(config)) {
    if (name == "bootstrap.servers" || name == "client.id" || name.rfind("security.", 0) == 0 ||
        name.rfind("sasl.", 0) == 0 || name.rfind("ssl.", 0) == 0) {
      props.emplace_back(name, value);
    }
  }
  props.emplace_back("group.id", group_);
  props.emplace_back("enable.auto.commit", "false");
  KafkaConfPtr conf = make_kafka_conf(props);
  route_rdkafka_logs_to_spdlog(conf.get());
  char reason[512] = {};
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason, sizeof reason);
  if (rk_ == nullptr) {
    throw Error(ErrorCode::kConfig,
                std::string("cannot create the consumer-lag client: ") + reason);
  }
  conf.release();  // owned by rk_ now
}

ConsumerLagProbe::~ConsumerLagProbe() {
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

std::int64_t ConsumerLagProbe::lag() {
  rd_kafka_poll(rk_, 0);  // serves queued error events (logged), so they do not pile up
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
  const rd_kafka_metadata_t* meta = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, topic, &meta, timeout_ms_);
  rd_kafka_topic_destroy(topic);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw lag_error("metadata of " + topic_, err);
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(
      meta, rd_kafka_metadata_destroy);
  if (meta->topic_cnt < 1 || meta->topics[0].err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
      meta->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    return 0;  // nothing was ever published: nothing to consume
  }
  const int partitions = meta->topics[0].partition_cnt;
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> list(
      rd_kafka_topic_partition_list_new(partitions), rd_kafka_topic_partition_list_destroy);
  for (int i = 0; i < partitions; ++i) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), meta->topics[0].partitions[i].id);
  }
  err = rd_kafka_committed(rk_, list.get(), timeout_ms_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw lag_error("committed offsets of " + group_, err);
  std::int64_t total = 0;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& p = list->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Not "never committed" (that is no error and an invalid offset): the offset is unknown,
      // and counting the whole partition would hold slots for a lag that may not exist.
      throw lag_error("committed offset of " + group_ + " on " + topic_ + " partition " +
                          std::to_string(p.partition),
                      p.err);
    }
    std::int64_t low = 0;
    std::int64_t high = 0;
    err = rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p.partition, &low, &high,
                                           timeout_ms_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw lag_error("watermarks of " + topic_, err);
    const std::int64_t committed = p.offset >= 0 ? p.offset : low;
    if (high > committed) total += high - committed;
  }
  return total;
}

}  // namespace user_export
