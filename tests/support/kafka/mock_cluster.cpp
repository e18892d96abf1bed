#include "support/kafka/mock_cluster.hpp"

#include <vector>

#include "common/error.hpp"

namespace user_export::testing {
namespace {

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw Error(ErrorCode::kPublish, "mock cluster: " + what + " failed: " + rd_kafka_err2str(err));
  }
}

}  // namespace

MockCluster::MockCluster(int brokers) : brokers_(brokers) {
  if (brokers < 1) throw Error(ErrorCode::kPublish, "mock cluster: needs at least one broker");
  char reason[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; it has no bootstrap servers of its own, which librdkafka
  // would warn about.
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw Error(ErrorCode::kPublish, std::string("mock cluster: cannot create handle: ") + reason);
  }
  cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw Error(ErrorCode::kPublish, "mock cluster: cannot start brokers (no free ports?)");
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

void MockCluster::check_broker(int id) const {
  if (id < 1 || id > brokers_) {
    throw Error(ErrorCode::kPublish, "mock cluster: no broker " + std::to_string(id) +
                                         "; broker ids are 1.." + std::to_string(brokers_));
  }
}

void MockCluster::create_topic(const std::string& name, int partitions, int replication) {
  check(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication),
        "creating topic " + name);
}

void MockCluster::broker_down(int id) {
  check_broker(id);
  check(rd_kafka_mock_broker_set_down(cluster_, id), "broker_down " + std::to_string(id));
}

void MockCluster::broker_up(int id) {
  check_broker(id);
  check(rd_kafka_mock_broker_set_up(cluster_, id), "broker_up " + std::to_string(id));
}

void MockCluster::all_down() {
  for (int id = 1; id <= brokers_; ++id) broker_down(id);
}

void MockCluster::all_up() {
  for (int id = 1; id <= brokers_; ++id) broker_up(id);
}

void MockCluster::set_rtt(int id, int rtt_ms) {
  check_broker(id);
  check(rd_kafka_mock_broker_set_rtt(cluster_, id, rtt_ms), "rtt " + std::to_string(id));
}

void MockCluster::push_request_errors(std::int16_t api_key, rd_kafka_resp_err_t err,
                                      std::size_t count) {
  const std::vector<rd_kafka_resp_err_t> errors(count, err);
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

void MockCluster::set_topic_error(const std::string& topic, rd_kafka_resp_err_t err) {
  rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), err);
}

}  // namespace user_export::testing
