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

/// Label name/value pairs of one time series, e.g. {{"group_id", "…"}, {"group_type", "…"}}
/// (snake_case: Micrometer's Prometheus naming of the spec's camelCase tags).
/// The order of the pairs does not matter: a series is identified by its pairs sorted by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  /// Adds `by`; negative and NaN increments are ignored (a counter never goes down).
  void inc(double by = 1.0);
  /// The current count.
  double value() const;

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  /// Replaces the value.
  void set(double v);
  /// Adds `by` (negative to subtract).
  void add(double by);
  /// The current value.
  double value() const;

 private:
  std::atomic<double> value_{0};
};

/// A Prometheus histogram with fixed upper bounds (seconds for timers). Thread-safe.
class Histogram {
 public:
  /// `bounds` are the finite upper bounds in increasing order; a trailing +Inf is implied (and
  /// dropped if given). Throws Error(kInternal) for unsorted, duplicate or NaN bounds.
  explicit Histogram(std::vector<double> bounds);
  /// Records one observation; NaN is ignored.
  void observe(double v);
  /// Cumulative counts per bound (the last entry is +Inf), the sum and the count.
  struct Snapshot {
    std::vector<double> bounds;             ///< finite upper bounds, +Inf not included
    std::vector<std::uint64_t> cumulative;  ///< bounds.size() + 1 entries, the last for +Inf
    double sum = 0;                         ///< sum of every observation
    std::uint64_t count = 0;                ///< number of observations
  };
  /// A consistent copy of the current state.
  Snapshot snapshot() const;
  /// The finite upper bounds this histogram was created with.
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, +Inf last
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// Default timer buckets in seconds: 5 ms … 30 min.
const std::vector<double>& default_time_buckets();

// A meter's type and its catalogue entry (observe/meter_catalogue.hpp).
enum class MeterType;
struct MeterSpec;

/// The in-process registry of every meter (the spec's MeterRegistry). Meters are created on
/// first use and live as long as the registry; the references returned stay valid. Names follow
/// Micrometer's Prometheus naming: counters end in `_total`, timers are `_seconds` histograms.
/// A name is registered with one type and one help text (the first one given); asking for it as
/// another type, with other histogram bounds, or with an invalid metric or label name is an
/// Error(kInternal). Thread-safe: lookups take a lock, so hot paths keep the returned reference.
/// Production code names its meters through the catalogue (observe/meter_catalogue.hpp), so each
/// name, type, help text and label set is written once; the overloads taking a name and a help
/// text remain for tests.
class Metrics {
 public:
  /// An empty registry.
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// The counter series `name{labels}`, created at 0 on first use.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  /// The gauge series `name{labels}`, created at 0 on first use.
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  /// The histogram series `name{labels}`, created empty on first use; every series of one name
  /// shares the same bounds.
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       const std::vector<double>& bounds = default_time_buckets());

  /// The counter series of the catalogue meter `spec` with `labels`. Throws Error(kInternal) when
  /// `spec` is not a counter or the label names are not exactly the spec's.
  Counter& counter(const MeterSpec& spec, const Labels& labels = {});
  /// The gauge series of the catalogue meter `spec` with `labels`. Throws Error(kInternal) when
  /// `spec` is not a gauge or the label names are not exactly the spec's.
  Gauge& gauge(const MeterSpec& spec, const Labels& labels = {});
  /// The histogram series of the catalogue meter `spec` with `labels`, bucketed by the spec's
  /// bounds (`default_time_buckets()` when it has none). Throws Error(kInternal) when `spec` is
  /// not a histogram or the label names are not exactly the spec's.
  Histogram& histogram(const MeterSpec& spec, const Labels& labels = {});

  /// The current value of a counter or gauge series (a histogram's observation count), or -1
  /// when the series does not exist (for tests).
  double value(const std::string& name, const Labels& labels = {}) const;

  /// Every meter in the Prometheus text exposition format 0.0.4 (HELP, TYPE, families sorted by
  /// name, series by labels, label values escaped), accepted by `promtool check metrics`.
  std::string prometheus_text() const;

 private:
  struct Family;
  /// The family `name`, created with `type` and `help` if absent; throws on a type clash.
  /// Requires mu_ to be held.
  Family& family_locked(const std::string& name, const std::string& help, MeterType type);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;
};

}  // namespace user_export
