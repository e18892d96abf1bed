#include "observe/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "observe/meter_catalogue.hpp"
#include "observe/prometheus_format.hpp"

namespace user_export {

// ---- meters ----------------------------------------------------------------------------------

void Counter::inc(double by) {
  if (!(by > 0)) return;  // also rejects NaN
  value_.fetch_add(by, std::memory_order_relaxed);
}

double Counter::value() const {
  return value_.load(std::memory_order_relaxed);
}

void Gauge::set(double v) {
  value_.store(v, std::memory_order_relaxed);
}

void Gauge::add(double by) {
  value_.fetch_add(by, std::memory_order_relaxed);
}

double Gauge::value() const {
  return value_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i]) || std::isinf(bounds_[i]) ||
        (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw Error(ErrorCode::kInternal,
                  "histogram bounds must be finite and strictly increasing; fix the bucket list "
                  "passed to Metrics::histogram");
    }
  }
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // The first bucket whose upper bound is >= v ("le" semantics); +Inf when past every bound.
  auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                        bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[index];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard lock(mu_);
  s.cumulative.reserve(counts_.size());
  std::uint64_t running = 0;
  for (auto c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

const std::vector<double>& default_time_buckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                               5,     10,   30,    60,   120, 300,  600, 1800};
  return kBuckets;
}

// ---- registry --------------------------------------------------------------------------------

struct Metrics::Family {
  MeterType type;
  std::string help;
  std::vector<double> bounds;  // histograms only
  // Keyed by labels sorted by name, so series come out sorted and lookups ignore pair order.
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
};

namespace {

/// The labels sorted by name; throws for invalid or repeated names.
Labels normalized(const std::string& metric, const Labels& labels, bool is_histogram) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& name = sorted[i].first;
    if (!is_valid_label_name(name) || (is_histogram && name == "le")) {
      throw Error(ErrorCode::kInternal, "invalid label name '" + name + "' on metric '" + metric +
                                            "': use [a-zA-Z_][a-zA-Z0-9_]* (not 'le' on a "
                                            "histogram, not starting with '__')");
    }
    if (i > 0 && sorted[i - 1].first == name) {
      throw Error(ErrorCode::kInternal,
                  "label '" + name + "' given twice on metric '" + metric + "'; pass each once");
    }
  }
  return sorted;
}

/// `counter`, `gauge` or `histogram`, as written after `# TYPE`.
const char* type_name(MeterType type) {
  switch (type) {
    case MeterType::kCounter:
      return "counter";
    case MeterType::kGauge:
      return "gauge";
    case MeterType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

/// Throws unless `spec` is a `type` and `labels` carry exactly the spec's label names (in any
/// order; repeated names are caught by `normalized`).
void require_spec(const MeterSpec& spec, MeterType type, const Labels& labels) {
  if (spec.type != type) {
    throw Error(ErrorCode::kInternal, std::string("meter '") + spec.name + "' is a " +
                                          type_name(spec.type) + " in the catalogue, not a " +
                                          type_name(type) +
                                          "; use Metrics::" + type_name(spec.type));
  }
  const bool same = labels.size() == spec.labels.size() &&
                    std::all_of(spec.labels.begin(), spec.labels.end(), [&](const char* name) {
                      return std::any_of(labels.begin(), labels.end(),
                                         [&](const auto& label) { return label.first == name; });
                    });
  if (!same) {
    std::string names;
    for (const char* name : spec.labels) names += (names.empty() ? "" : ", ") + std::string(name);
    throw Error(ErrorCode::kInternal, std::string("meter '") + spec.name + "' takes the labels {" +
                                          names +
                                          "} (observe/meter_catalogue.hpp); pass exactly those");
  }
}

/// `{a="x",b="y"}` with an optional extra label appended last; "" when there is no label.
std::string render_labels(const Labels& labels, const char* extra_name = nullptr,
                          const std::string& extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return {};
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  };
  for (const auto& [name, value] : labels) add(name, value);
  if (extra_name != nullptr) add(extra_name, extra_value);
  out += '}';
  return out;
}

}  // namespace

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Family& Metrics::family_locked(const std::string& name, const std::string& help,
                                        MeterType type) {
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second->type != type) {
      throw Error(ErrorCode::kInternal, "metric '" + name + "' is already registered as a " +
                                            type_name(it->second->type) + ", not a " +
                                            type_name(type) + "; give the new meter another name");
    }
    return *it->second;
  }
  if (!is_valid_metric_name(name)) {
    throw Error(ErrorCode::kInternal,
                "invalid metric name '" + name + "': use [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  auto family = std::make_unique<Family>();
  family->type = type;
  family->help = help;
  return *families_.emplace(name, std::move(family)).first->second;
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = normalized(name, labels, false);
  std::lock_guard lock(mu_);
  auto& series = family_locked(name, help, MeterType::kCounter).counters[std::move(key)];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = normalized(name, labels, false);
  std::lock_guard lock(mu_);
  auto& series = family_locked(name, help, MeterType::kGauge).gauges[std::move(key)];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help,
                              const Labels& labels, const std::vector<double>& bounds) {
  Labels key = normalized(name, labels, true);
  Histogram fresh(bounds);  // validates and normalises the bounds before anything is stored
  std::lock_guard lock(mu_);
  auto& family = family_locked(name, help, MeterType::kHistogram);
  if (family.histograms.empty()) {
    family.bounds = fresh.bounds();
  } else if (family.bounds != fresh.bounds()) {
    throw Error(ErrorCode::kInternal, "histogram '" + name +
                                          "' was registered with other bucket bounds; every "
                                          "series of one histogram must use the same bounds");
  }
  auto& series = family.histograms[std::move(key)];
  if (!series) series = std::make_unique<Histogram>(family.bounds);
  return *series;
}

Counter& Metrics::counter(const MeterSpec& spec, const Labels& labels) {
  require_spec(spec, MeterType::kCounter, labels);
  return counter(spec.name, spec.help, labels);
}

Gauge& Metrics::gauge(const MeterSpec& spec, const Labels& labels) {
  require_spec(spec, MeterType::kGauge, labels);
  return gauge(spec.name, spec.help, labels);
}

Histogram& Metrics::histogram(const MeterSpec& spec, const Labels& labels) {
  require_spec(spec, MeterType::kHistogram, labels);
  if (spec.bounds.empty()) return histogram(spec.name, spec.help, labels);
  return histogram(spec.name, spec.help, labels,
                   std::vector<double>(spec.bounds.begin(), spec.bounds.end()));
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return -1;
  const Family& f = *it->second;
  switch (f.type) {
    case MeterType::kCounter: {
      auto s = f.counters.find(key);
      return s == f.counters.end() ? -1 : s->second->value();
    }
    case MeterType::kGauge: {
      auto s = f.gauges.find(key);
      return s == f.gauges.end() ? -1 : s->second->value();
    }
    case MeterType::kHistogram: {
      auto s = f.histograms.find(key);
      return s == f.histograms.end() ? -1 : static_cast<double>(s->second->snapshot().count);
    }
  }
  return -1;
}

std::string Metrics::prometheus_text() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + ' ' + escape_help(family->help) + '\n';
    out += "# TYPE " + name + ' ' + type_name(family->type) + '\n';
    for (const auto& [labels, counter] : family->counters) {
      out += name + render_labels(labels) + ' ' + format_prometheus_number(counter->value()) + '\n';
    }
    for (const auto& [labels, gauge] : family->gauges) {
      out += name + render_labels(labels) + ' ' + format_prometheus_number(gauge->value()) + '\n';
    }
    for (const auto& [labels, histogram] : family->histograms) {
      auto snap = histogram->snapshot();
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        std::string le = i < snap.bounds.size() ? format_prometheus_number(snap.bounds[i]) : "+Inf";
        out += name + "_bucket" + render_labels(labels, "le", le) + ' ' +
               std::to_string(snap.cumulative[i]) + '\n';
      }
      out +=
          name + "_sum" + render_labels(labels) + ' ' + format_prometheus_number(snap.sum) + '\n';
      out += name + "_count" + render_labels(labels) + ' ' + std::to_string(snap.count) + '\n';
    }
  }
  return out;
}

}  // namespace user_export
