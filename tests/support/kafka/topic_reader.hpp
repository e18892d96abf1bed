#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace user_export::testing {

/// One record read back from a topic.
struct ConsumedMessage {
  std::string topic;               ///< the topic it was read from
  std::int32_t partition = 0;      ///< its partition
  std::int64_t offset = 0;         ///< its offset in the partition
  std::optional<std::string> key;  ///< nullopt for a null key
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;  ///< in record order
  std::optional<std::string> value;  ///< nullopt for a null value

  /// The value of the first header named `name`, or nullopt.
  std::optional<std::string> header(const std::string& name) const;
};

/// Reads every record of `topic` on `bootstrap` from the beginning of each partition with a
/// plain librdkafka consumer (no consumer group, nothing committed). Stops when every partition
/// reached its end, when nothing arrived for `idle`, or after `max_wait`. Records are in
/// partition order, then offset order. A topic the cluster does not know yields no records (a
/// cluster that creates topics on first use may create it, empty). Test support; throws
/// Error(kPublish) when the consumer cannot be created.
std::vector<ConsumedMessage> read_topic(
    const std::string& bootstrap, const std::string& topic, std::chrono::milliseconds idle,
    std::chrono::milliseconds max_wait = std::chrono::milliseconds{30000});

/// One JSON object on one line: topic, partition, offset, key, headers (object of name to
/// value), value; null for null key, value or header value; invalid UTF-8 replaced.
std::string to_json_line(const ConsumedMessage& message);

}  // namespace user_export::testing
