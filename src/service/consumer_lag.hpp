#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config/config.hpp"

struct rd_kafka_s;

namespace user_export {

/// Reads how far a consumer group is behind on a topic, with librdkafka: for every partition,
/// the high watermark minus the group's committed offset (the whole partition, from its low
/// watermark, when the group committed nothing there). Not thread-safe (one caller: the
/// scheduler thread).
class ConsumerLagProbe {
 public:
  /// Connects with the `[kafka]` settings (bootstrap, security) as group `group` without
  /// joining it. Throws Error(kConfig) for an invalid property.
  ConsumerLagProbe(const Config& config, std::string group, std::string topic);
  ~ConsumerLagProbe();
  ConsumerLagProbe(const ConsumerLagProbe&) = delete;
  ConsumerLagProbe& operator=(const ConsumerLagProbe&) = delete;

  /// The total lag in messages. Throws a retriable Error(kPublish) when the broker does not
  /// answer within the timeout.
  std::int64_t lag();

 private:
  rd_kafka_s* rk_ = nullptr;
  std::string group_;
  std::string topic_;
  int timeout_ms_;
};

}  // namespace user_export
