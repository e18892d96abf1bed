#include "publish/kafka/kafka_sink.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "observe/meter_catalogue.hpp"
#include "publish/kafka/dead_letter.hpp"
#include "publish/kafka/delivery_errors.hpp"
#include "publish/kafka/delivery_tracker.hpp"
#include "publish/kafka/producer.hpp"
#include "publish/kafka/producer_config.hpp"

namespace user_export {
namespace {

using std::chrono::milliseconds;

/// How long a publishing thread blocks in one poll; bounds how late it notices reports served by
/// another thread.
constexpr milliseconds kPollInterval{10};
/// Extra wait beyond the delivery timeout: librdkafka scans for timed-out messages once a second.
constexpr milliseconds kReportGrace{5000};

const char* result_label(DeliveryResult::Status status) {
  switch (status) {
    case DeliveryResult::Status::kDelivered:
      return "delivered";
    case DeliveryResult::Status::kRetriable:
      return "retriable";
    case DeliveryResult::Status::kFatal:
      return "fatal";
  }
  return "unknown";
}

class KafkaSink final : public MessageSink {
 public:
  KafkaSink(const Config& config, Metrics* metrics, const Clock& clock)
      : properties_(producer_properties(config)),
        default_topic_(config.messages.topic),
        dlq_topic_(config.messages.dlq_topic),
        max_message_bytes_(config.messages.max_message_bytes),
        delivery_timeout_(config.messages.delivery_timeout),
        metrics_(metrics),
        clock_(clock),
        producer_(std::make_shared<KafkaProducer>(properties_)) {}

  std::vector<DeliveryResult> publish(std::span<const OutboundMessage> messages) override {
    return send(messages);
  }

  DeliveryResult publish_dead_letter(const OutboundMessage& message,
                                     const DeadLetter& reason) override {
    const OutboundMessage letter =
        make_dead_letter(message, reason, dlq_topic_, clock_.now(), max_message_bytes_);
    return send(std::span(&letter, 1)).front();
  }

  void flush(milliseconds timeout) override {
    if (stopping_) timeout = milliseconds{0};
    current_producer()->flush(timeout);
  }

  void stop_waiting() override { stopping_ = true; }

 private:
  std::shared_ptr<KafkaProducer> current_producer() {
    std::lock_guard lock(mu_);
    return producer_;
  }

  /// Replaces `failed` (if it is still the current producer) after its fatal error `reason`.
  void replace_producer(const std::shared_ptr<KafkaProducer>& failed, const std::string& reason) {
    std::lock_guard lock(mu_);
    if (producer_ != failed) return;  // another thread already replaced it
    try {
      producer_ = std::make_shared<KafkaProducer>(properties_);
    } catch (const Error& e) {
      spdlog::error("Kafka producer failed fatally ({}) and a new one could not be created: {}",
                    reason, e.what());
      return;
    }
    spdlog::error(
        "Kafka idempotent producer failed fatally ({}); a new producer replaced it and the "
        "undelivered messages are reported retriable",
        reason);
    if (metrics_ != nullptr) {
      metrics_->counter(meters::kKafkaProducerRestarts).inc();
    }
  }

  DeliveryResult too_large(std::size_t bytes) const {
    DeliveryResult r;
    r.status = DeliveryResult::Status::kFatal;
    r.error_code = rd_kafka_err2name(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    r.error = "payload of " + std::to_string(bytes) +
              " bytes exceeds messages.max_message_bytes=" + std::to_string(max_message_bytes_) +
              "; split the message or raise the limit together with the broker's";
    return r;
  }

  DeliveryResult no_report() const {
    DeliveryResult r;
    r.status = DeliveryResult::Status::kRetriable;
    r.error_code = rd_kafka_err2name(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
    r.error = "no delivery report within " +
              std::to_string((delivery_timeout_ + kReportGrace).count()) +
              " ms; it may still be delivered, so a retry may duplicate it (same runId)";
    return r;
  }

  std::vector<DeliveryResult> send(std::span<const OutboundMessage> messages) {
    const std::size_t n = messages.size();
    if (n == 0) return {};
    std::shared_ptr<KafkaProducer> producer = current_producer();
    auto tracker = std::make_shared<DeliveryTracker>(n, clock_);
    std::vector<std::optional<DeliveryResult>> decided(n);  // results known without a report
    const auto deadline = clock_.monotonic() + delivery_timeout_ + kReportGrace;

    for (std::size_t i = 0; i < n; ++i) {
      const OutboundMessage& m = messages[i];
      if (m.payload.size() > max_message_bytes_) {
        decided[i] = too_large(m.payload.size());
        continue;
      }
      tracker->sent(i);
      rd_kafka_resp_err_t err;
      for (;;) {
        err = producer->produce(m, topic_of(m), tracker, i);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock_.monotonic() >= deadline) break;
        producer->poll(kPollInterval);  // let librdkafka drain its queue
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) tracker->report(i, err);
    }

    std::optional<std::string> fatal;
    bool purged = false;
    while (tracker->outstanding() > 0 && clock_.monotonic() < deadline) {
      if (!fatal) fatal = producer->fatal_error();
      if ((fatal || stopping_) && !purged) {
        producer->purge();  // fail the rest now instead of at the timeout
        purged = true;
      }
      producer->poll(kPollInterval);
    }
    if (!fatal) fatal = producer->fatal_error();
    if (fatal) replace_producer(producer, *fatal);

    std::vector<DeliveryResult> results;
    results.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (decided[i]) {
        results.push_back(std::move(*decided[i]));
        continue;
      }
      const std::optional<DeliveryReport> report = tracker->get(i);
      if (!report) {
        results.push_back(no_report());
        continue;
      }
      DeliveryResult r = delivery_result(report->err);
      if (r.status == DeliveryResult::Status::kDelivered) {
        observe_latency(topic_of(messages[i]), report->latency);
      } else if (fatal) {
        r.status = DeliveryResult::Status::kRetriable;
        r.error += " (the idempotent producer failed with " + *fatal +
                   " and was replaced; retry the message)";
      }
      results.push_back(std::move(r));
    }
    account(messages, results);
    return results;
  }

  const std::string& topic_of(const OutboundMessage& m) const {
    return m.topic.empty() ? default_topic_ : m.topic;
  }

  void observe_latency(const std::string& topic, Duration latency) {
    if (metrics_ == nullptr) return;
    metrics_->histogram(meters::kKafkaDelivery, {{"topic", topic}})
        .observe(std::chrono::duration<double>(latency).count());
  }

  /// Counts results per topic and outcome, and logs a summary of failures.
  void account(std::span<const OutboundMessage> messages,
               const std::vector<DeliveryResult>& results) {
    std::map<std::pair<std::string, DeliveryResult::Status>, int> counts;
    const DeliveryResult* first_failure = nullptr;
    std::size_t failures = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      ++counts[{topic_of(messages[i]), results[i].status}];
      if (results[i].status != DeliveryResult::Status::kDelivered) {
        ++failures;
        if (first_failure == nullptr) first_failure = &results[i];
      }
    }
    if (first_failure != nullptr) {
      spdlog::warn("Kafka: {} of {} message(s) not delivered; first: {} {} ({})", failures,
                   results.size(), result_label(first_failure->status), first_failure->error_code,
                   first_failure->error);
    }
    if (metrics_ == nullptr) return;
    for (const auto& [key, count] : counts) {
      metrics_
          ->counter(meters::kKafkaMessages,
                    {{"topic", key.first}, {"result", result_label(key.second)}})
          .inc(count);
    }
  }

  const KafkaProperties properties_;
  const std::string default_topic_;
  const std::string dlq_topic_;
  const std::size_t max_message_bytes_;
  const milliseconds delivery_timeout_;
  std::atomic<bool> stopping_{false};
  Metrics* const metrics_;
  const Clock& clock_;
  std::mutex mu_;  // guards producer_
  std::shared_ptr<KafkaProducer> producer_;
};

}  // namespace

std::unique_ptr<MessageSink> make_kafka_sink(const Config& config, Metrics* metrics) {
  static const SystemClock clock;
  return make_kafka_sink(config, metrics, clock);
}

std::unique_ptr<MessageSink> make_kafka_sink(const Config& config, Metrics* metrics,
                                             const Clock& clock) {
  return std::make_unique<KafkaSink>(config, metrics, clock);
}

}  // namespace user_export
