#include "service/backpressure.hpp"

#include <exception>
#include <string>

#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {

Backpressure::Backpressure(Metrics& metrics, std::int64_t max_lag, LagProbe probe)
    : paused_gauge_(metrics.gauge(meters::kSchedulerPaused)),
      max_lag_(max_lag),
      probe_(std::move(probe)) {
  paused_gauge_.set(0);
}

void Backpressure::pause() {
  by_hand_ = true;
  std::lock_guard lock(mu_);
  set_held(true, "paused through the admin API");
}

void Backpressure::resume() {
  by_hand_ = false;
  std::lock_guard lock(mu_);
  set_held(false, "resumed through the admin API");
}

bool Backpressure::paused_by_hand() const {
  return by_hand_;
}

bool Backpressure::should_hold() {
  std::lock_guard lock(mu_);
  if (by_hand_) {
    set_held(true, "paused through the admin API");
    return true;
  }
  if (max_lag_ <= 0 || !probe_) {
    set_held(false, "no lag threshold");
    return false;
  }
  try {
    const std::int64_t lag = probe_();
    if (lag > max_lag_) {
      const std::string why = "consumer lag " + std::to_string(lag) + " is above " +
                              std::to_string(max_lag_) + " messages";
      set_held(true, why.c_str(), {{"lag", lag}, {"max_lag", max_lag_}});
      return true;
    }
    set_held(false, "consumer lag is at or below the threshold",
             {{"lag", lag}, {"max_lag", max_lag_}});
    return false;
  } catch (const std::exception& e) {
    log::warn("cannot read the consumer lag; the slot runs without back-pressure",
              {{"max_lag", max_lag_}, {"error", e.what()}});
    set_held(false, "consumer lag unknown");
    return false;
  }
}

void Backpressure::release() {
  std::lock_guard lock(mu_);
  if (!by_hand_) set_held(false, "slot released");
}

void Backpressure::set_held(bool held, const char* why, log::Fields fields) {
  paused_gauge_.set(held ? 1 : 0);
  if (held == held_) return;
  held_ = held;
  fields.insert(fields.begin(), log::Field("reason", why));
  if (held) {
    log::warn("scheduler paused: slots are held until it resumes", fields);
  } else {
    log::info("scheduler resumed", fields);
  }
}

}  // namespace user_export
