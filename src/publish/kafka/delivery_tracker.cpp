#include "publish/kafka/delivery_tracker.hpp"

namespace user_export {

DeliveryTracker::DeliveryTracker(std::size_t size, const Clock& clock)
    : clock_(clock), sent_at_(size), reports_(size) {}

void DeliveryTracker::sent(std::size_t index) {
  const auto now = clock_.monotonic();
  std::lock_guard lock(mu_);
  if (sent_at_[index] || reports_[index]) return;
  sent_at_[index] = now;
  ++outstanding_;
}

void DeliveryTracker::report(std::size_t index, rd_kafka_resp_err_t err) {
  const auto now = clock_.monotonic();
  std::lock_guard lock(mu_);
  if (reports_[index] || !sent_at_[index]) return;
  reports_[index] = DeliveryReport{err, now - *sent_at_[index]};
  --outstanding_;
}

std::size_t DeliveryTracker::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

std::optional<DeliveryReport> DeliveryTracker::get(std::size_t index) const {
  std::lock_guard lock(mu_);
  return reports_[index];
}

}  // namespace user_export
