#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "domain/message.hpp"

namespace user_export {

/// Outcome of delivering one message.
struct DeliveryResult {
  enum class Status {
    kDelivered,  ///< the broker (or file) confirmed it durably
    kRetriable,  ///< not delivered; may succeed later (broker down, timeout)
    kFatal,      ///< not deliverable as is (too large, not authorised, unknown topic): DLQ it
  };
  Status status = Status::kDelivered;
  std::string error_code;  ///< e.g. librdkafka's error name; empty when delivered
  std::string error;       ///< human-readable reason
};

/// Why a message goes to the dead-letter topic.
struct DeadLetter {
  std::string original_topic;
  std::string error_code;
  std::string error;
  int attempts = 0;
};

/// The message broker (the spec's FlairBitProducer). publish() waits for the delivery
/// confirmation of every message (never fire-and-forget). Thread-safe.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  /// Sends the messages and waits for each one's delivery result (same order as input).
  virtual std::vector<DeliveryResult> publish(std::span<const OutboundMessage> messages) = 0;
  /// Sends one message to the dead-letter topic with headers naming the reason.
  virtual DeliveryResult publish_dead_letter(const OutboundMessage& message,
                                             const DeadLetter& reason) = 0;
  /// Waits at most `timeout` for in-flight sends; what is not delivered stays in the outbox.
  virtual void flush(std::chrono::milliseconds timeout) = 0;
  /// Shutdown: publish() and flush() stop waiting for delivery reports from now on; messages
  /// still queued are withdrawn where the sink can (Kafka: purged) and reported retriable, so
  /// they stay in the outbox. (One already on the wire may still arrive: consumers dedupe by
  /// runId.) Any thread; the default does nothing (a sink that never waits).
  virtual void stop_waiting() {}
};

struct Config;
class Metrics;

/// Opens Kafka when `kafka.bootstrap` is set, else the JSON-lines file `messages.file`.
/// `metrics`, when given, must outlive the sink.
std::unique_ptr<MessageSink> open_message_sink(const Config& config, Metrics* metrics = nullptr);

}  // namespace user_export
