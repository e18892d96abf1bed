#pragma once

#include <memory>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "observe/metrics.hpp"
#include "publish/message_sink.hpp"

namespace user_export {

/// A MessageSink on Kafka: one idempotent, acks=all librdkafka producer (settings from
/// `config.kafka` and `config.messages`, see docs/KAFKA.md). publish() waits for every delivery
/// report, at most the delivery timeout plus a few seconds, and classifies each failure as
/// retriable or fatal; a fatal error of the idempotent producer itself is reported retriable and
/// the producer is replaced. When `metrics` is given (it must outlive the sink) the sink counts
/// `users_export_kafka_messages_total{topic,result}` and observes
/// `users_export_kafka_delivery_seconds{topic}`. Thread-safe. Throws Error(kConfig) when the
/// settings are invalid or librdkafka rejects a property, naming the property.
std::unique_ptr<MessageSink> make_kafka_sink(const Config& config, Metrics* metrics);

/// Same as above, timing deliveries and deadlines with `clock` (which must outlive the sink).
std::unique_ptr<MessageSink> make_kafka_sink(const Config& config, Metrics* metrics,
                                             const Clock& clock);

}  // namespace user_export
