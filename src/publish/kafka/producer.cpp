#include "publish/kafka/producer.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "publish/kafka/rdkafka_logging.hpp"

namespace user_export {
namespace {

/// What one message's opaque points to. Allocated per message by produce() and freed by the
/// delivery report callback, which librdkafka calls exactly once per accepted message.
struct PendingDelivery {
  std::shared_ptr<DeliveryTracker> tracker;
  std::size_t index;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  std::unique_ptr<PendingDelivery> pending(static_cast<PendingDelivery*>(message->_private));
  if (pending) pending->tracker->report(pending->index, message->err);
}

/// How long the destructor serves the reports of purged messages before giving up.
constexpr std::chrono::milliseconds kPurgeDrainTimeout{5000};

}  // namespace

KafkaProducer::KafkaProducer(const KafkaProperties& properties) {
  KafkaConfPtr conf = make_kafka_conf(properties);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  route_rdkafka_logs_to_spdlog(conf.get());
  char reason[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason, sizeof reason);
  if (rk_ == nullptr) {
    throw Error(ErrorCode::kConfig, std::string("cannot create the Kafka producer: ") + reason +
                                        "; fix the [kafka] settings");
  }
  conf.release();  // rd_kafka_new() took ownership
}

KafkaProducer::~KafkaProducer() {
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto deadline = std::chrono::steady_clock::now() + kPurgeDrainTimeout;
  while (rd_kafka_outq_len(rk_) > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(rk_, 50);
  }
  if (const int left = rd_kafka_outq_len(rk_); left > 0) {
    spdlog::warn("Kafka producer {} destroyed with {} message(s) whose report never arrived",
                 rd_kafka_name(rk_), left);
  }
  rd_kafka_destroy(rk_);
}

rd_kafka_resp_err_t KafkaProducer::produce(const OutboundMessage& message, const std::string& topic,
                                           const std::shared_ptr<DeliveryTracker>& tracker,
                                           std::size_t index) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
  for (const auto& [name, value] : message.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  auto pending = std::make_unique<PendingDelivery>(PendingDelivery{tracker, index});
  // librdkafka copies key and value (RD_KAFKA_MSG_F_COPY); the casts only satisfy its C API.
  void* key = message.key.empty() ? nullptr : const_cast<char*>(message.key.data());
  void* value = message.payload.empty() ? nullptr : const_cast<char*>(message.payload.data());
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key, message.key.size()),
      RD_KAFKA_V_VALUE(value, message.payload.size()), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);  // not taken over on failure
    return err;
  }
  pending.release();  // freed by on_delivery
  return err;
}

void KafkaProducer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(rk_, static_cast<int>(timeout.count()));
}

void KafkaProducer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
}

void KafkaProducer::purge() {
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
}

std::optional<std::string> KafkaProducer::fatal_error() const {
  char reason[512];
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, reason, sizeof reason);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string(rd_kafka_err2name(err)) + ": " + reason;
}

int KafkaProducer::outstanding() const {
  return rd_kafka_outq_len(rk_);
}

}  // namespace user_export
