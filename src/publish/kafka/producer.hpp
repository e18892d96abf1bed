#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "domain/message.hpp"
#include "publish/kafka/delivery_tracker.hpp"
#include "publish/kafka/producer_config.hpp"

namespace user_export {

/// One idempotent librdkafka producer handle. Every message carries an opaque naming its
/// DeliveryTracker and index; the delivery report callback, run by whichever thread polls,
/// records the outcome there. All methods are thread-safe (librdkafka's producer calls are).
/// Destroying the producer purges what is still queued or in flight, serves those reports (they
/// end as _PURGE_QUEUE / _PURGE_INFLIGHT) and then destroys the handle; callers that want
/// in-flight messages delivered call flush() first.
class KafkaProducer {
 public:
  /// Creates the handle from `properties` (see producer_properties()). Throws Error(kConfig) when
  /// librdkafka rejects a property or the combination of properties.
  explicit KafkaProducer(const KafkaProperties& properties);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /// Hands `message` to librdkafka for `topic` (key, headers and payload copied), reporting to
  /// `tracker` under `index`. Returns librdkafka's immediate error (e.g. _QUEUE_FULL,
  /// MSG_SIZE_TOO_LARGE, _FATAL); on error no report will follow.
  rd_kafka_resp_err_t produce(const OutboundMessage& message, const std::string& topic,
                              const std::shared_ptr<DeliveryTracker>& tracker, std::size_t index);
  /// Serves delivery reports and error callbacks, waiting at most `timeout` for the first one.
  void poll(std::chrono::milliseconds timeout);
  /// Waits at most `timeout` until every queued and in-flight message has its report.
  void flush(std::chrono::milliseconds timeout);
  /// Fails every queued and in-flight message now (their reports say _PURGE_*).
  void purge();
  /// The idempotent producer's fatal error ("NAME: reason"), or nullopt while it is usable. A
  /// producer with a fatal error fails every message and must be replaced.
  std::optional<std::string> fatal_error() const;
  /// Messages queued or in flight, including reports not yet served.
  int outstanding() const;

 private:
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace user_export
