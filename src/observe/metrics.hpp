#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace user_export {

/// Label name/value pairs of one time series, e.g. {{"groupId", "…"}, {"groupType", "…"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  void inc(double by = 1.0);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void set(double v);
  void add(double by);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

/// A Prometheus histogram with fixed upper bounds (seconds for timers). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  /// Cumulative counts per bound (the last entry is +Inf), the sum and the count.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, +Inf last
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// Default timer buckets in seconds: 5 ms … 30 min.
const std::vector<double>& default_time_buckets();

/// The in-process registry of every meter (the spec's MeterRegistry). Meters are created on
/// first use and live as long as the registry; the references returned stay valid. Names follow
/// Micrometer's Prometheus naming: counters end in `_total`, timers are `_seconds` histograms.
/// A name is registered with one type and one help text; asking for it as another type is an
/// Error(kInternal). Thread-safe.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const Labels& labels = {},
                       const std::vector<double>& bounds = default_time_buckets());

  /// The current value of a counter or gauge series, or nullopt-like -1 when absent (tests).
  double value(const std::string& name, const Labels& labels = {}) const;

  /// Every meter in the Prometheus text exposition format 0.0.4 (HELP, TYPE, series sorted by
  /// name then labels, label values escaped), accepted by `promtool check metrics`.
  std::string prometheus_text() const;

 private:
  struct Family;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;
};

}  // namespace user_export
