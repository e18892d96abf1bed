#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace user_export::testing {

/// A librdkafka mock cluster: `brokers` in-process brokers that speak the Kafka protocol on
/// loopback ports chosen by the OS, with faults that tests inject (brokers down, request errors,
/// topic errors). Test support only. Methods may be called from any thread (librdkafka forwards
/// them to the cluster's own thread). Errors are Error(kPublish) naming the command.
class MockCluster {
 public:
  /// Starts the cluster. Topics are created on first use with the mock's defaults unless
  /// create_topic() made them first.
  explicit MockCluster(int brokers = 3);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  /// The cluster's bootstrap.servers list (`127.0.0.1:port,…`).
  const std::string& bootstrap() const { return bootstrap_; }
  /// Number of brokers; their ids are 1..brokers().
  int brokers() const { return brokers_; }

  /// Creates `name` with `partitions` partitions replicated `replication` times.
  void create_topic(const std::string& name, int partitions, int replication);
  /// Makes broker `id` drop its connections and refuse new ones.
  void broker_down(int id);
  /// Makes broker `id` accept connections again.
  void broker_up(int id);
  /// Takes every broker down.
  void all_down();
  /// Brings every broker up.
  void all_up();
  /// Delays every response of broker `id` by `rtt_ms` milliseconds.
  void set_rtt(int id, int rtt_ms);
  /// Fails the next `count` requests of API `api_key` (0 = Produce) with `err`, cluster-wide.
  void push_request_errors(std::int16_t api_key, rd_kafka_resp_err_t err, std::size_t count);
  /// Makes metadata for `topic` report `err` (NO_ERROR clears it).
  void set_topic_error(const std::string& topic, rd_kafka_resp_err_t err);

 private:
  void check_broker(int id) const;
  int brokers_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace user_export::testing
