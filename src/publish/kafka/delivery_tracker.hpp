#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "common/clock.hpp"

namespace user_export {

/// The delivery report of one message: librdkafka's error (NO_ERROR when delivered) and the time
/// from handing the message to librdkafka until the report arrived.
struct DeliveryReport {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;  ///< NO_ERROR when delivered
  Duration latency{};                                    ///< produce call to report
};

/// Collects the delivery reports of one batch of messages, indexed like the batch. Reports may
/// arrive on any thread that polls the producer, also after the publishing thread stopped waiting
/// (each message's opaque keeps the tracker alive until its report). Thread-safe.
class DeliveryTracker {
 public:
  /// A tracker for `size` messages, timed with `clock` (which must outlive the tracker).
  DeliveryTracker(std::size_t size, const Clock& clock);

  /// Notes that message `index` was handed to librdkafka now and a report is expected.
  void sent(std::size_t index);
  /// Records the report of message `index`; later reports for the same index are ignored.
  void report(std::size_t index, rd_kafka_resp_err_t err);
  /// Number of sent messages whose report has not arrived.
  std::size_t outstanding() const;
  /// The report of message `index`, or nullopt if none arrived (or it was never sent).
  std::optional<DeliveryReport> get(std::size_t index) const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::vector<std::optional<std::chrono::steady_clock::time_point>> sent_at_;
  std::vector<std::optional<DeliveryReport>> reports_;
  std::size_t outstanding_ = 0;
};

}  // namespace user_export
