#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "observe/prometheus_format.hpp"

namespace user_export {
namespace {

TEST(Metrics, ExpositionTextIsExactSortedAndEscaped) {
  Metrics m;
  m.counter("users_export_failures_total", "Groups whose export failed",
            {{"groupType", "COST_BASED"}, {"groupId", "g2"}})
      .inc();
  m.counter("users_export_failures_total", "ignored: the first help text wins",
            {{"groupId", "g1"}, {"groupType", "COST_BASED"}})
      .inc(2);
  m.gauge("outbox_pending", "Messages waiting in the outbox\nnot yet published \\ relayed")
      .set(1.5);
  m.counter("export_to_dlq_total", "Messages sent to the DLQ",
            {{"topic", "a\"b\\c\nd"}, {"key", "k"}})
      .inc(1000000);
  auto& h = m.histogram("users_export_duration_seconds", "Export duration", {{"groupId", "g1"}},
                        {0.5, 1, 2.5});
  h.observe(0.25);
  h.observe(0.5);  // exactly on a bound: counted in le="0.5"
  h.observe(2);
  h.observe(7);

  const std::string expected =
      "# HELP export_to_dlq_total Messages sent to the DLQ\n"
      "# TYPE export_to_dlq_total counter\n"
      "export_to_dlq_total{key=\"k\",topic=\"a\\\"b\\\\c\\nd\"} 1000000\n"
      "# HELP outbox_pending Messages waiting in the outbox\\nnot yet published \\\\ relayed\n"
      "# TYPE outbox_pending gauge\n"
      "outbox_pending 1.5\n"
      "# HELP users_export_duration_seconds Export duration\n"
      "# TYPE users_export_duration_seconds histogram\n"
      "users_export_duration_seconds_bucket{groupId=\"g1\",le=\"0.5\"} 2\n"
      "users_export_duration_seconds_bucket{groupId=\"g1\",le=\"1\"} 2\n"
      "users_export_duration_seconds_bucket{groupId=\"g1\",le=\"2.5\"} 3\n"
      "users_export_duration_seconds_bucket{groupId=\"g1\",le=\"+Inf\"} 4\n"
      "users_export_duration_seconds_sum{groupId=\"g1\"} 9.75\n"
      "users_export_duration_seconds_count{groupId=\"g1\"} 4\n"
      "# HELP users_export_failures_total Groups whose export failed\n"
      "# TYPE users_export_failures_total counter\n"
      "users_export_failures_total{groupId=\"g1\",groupType=\"COST_BASED\"} 2\n"
      "users_export_failures_total{groupId=\"g2\",groupType=\"COST_BASED\"} 1\n";
  EXPECT_EQ(m.prometheus_text(), expected);
}

TEST(Metrics, EmptyRegistryWritesNothing) {
  Metrics m;
  EXPECT_EQ(m.prometheus_text(), "");
}

TEST(Metrics, SameSeriesRegardlessOfLabelOrder) {
  Metrics m;
  auto& a = m.counter("c_total", "h", {{"a", "1"}, {"b", "2"}});
  auto& b = m.counter("c_total", "h", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&a, &b);
  a.inc(3);
  EXPECT_EQ(m.value("c_total", {{"b", "2"}, {"a", "1"}}), 3);
}

TEST(Metrics, ValueIsMinusOneWhenAbsent) {
  Metrics m;
  EXPECT_EQ(m.value("nope"), -1);
  m.counter("c_total", "h", {{"a", "1"}});
  EXPECT_EQ(m.value("c_total", {{"a", "2"}}), -1);
  EXPECT_EQ(m.value("c_total", {{"a", "1"}}), 0);
  m.histogram("h_seconds", "h").observe(0.2);
  EXPECT_EQ(m.value("h_seconds"), 1);
}

TEST(Metrics, RegisteringANameAsAnotherTypeIsInternalError) {
  Metrics m;
  m.counter("x_total", "h");
  try {
    m.gauge("x_total", "h");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("x_total"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("counter"), std::string::npos);
  }
  EXPECT_THROW(m.histogram("x_total", "h"), Error);
  // The failed registrations left nothing behind.
  EXPECT_EQ(m.prometheus_text(), "# HELP x_total h\n# TYPE x_total counter\nx_total 0\n");
}

TEST(Metrics, InvalidNamesAndBoundsAreRejected) {
  Metrics m;
  EXPECT_THROW(m.counter("1bad", "h"), Error);
  EXPECT_THROW(m.counter("bad-name", "h"), Error);
  EXPECT_THROW(m.counter("ok_total", "h", {{"bad-label", "v"}}), Error);
  EXPECT_THROW(m.counter("ok_total", "h", {{"__reserved", "v"}}), Error);
  EXPECT_THROW(m.counter("ok_total", "h", {{"a", "1"}, {"a", "2"}}), Error);
  EXPECT_THROW(m.histogram("h_seconds", "h", {{"le", "1"}}), Error);
  EXPECT_THROW(m.histogram("h_seconds", "h", {}, {1, 0.5}), Error);
  EXPECT_THROW(m.histogram("h_seconds", "h", {}, {1, std::nan("")}), Error);
  m.histogram("h_seconds", "h", {{"g", "1"}}, {1, 2});
  EXPECT_THROW(m.histogram("h_seconds", "h", {{"g", "2"}}, {1, 3}), Error);
  EXPECT_NO_THROW(
      m.histogram("h_seconds", "h", {{"g", "2"}}, {1, 2, std::numeric_limits<double>::infinity()}));
}

TEST(Metrics, CounterIgnoresNegativeAndNaNIncrements) {
  Counter c;
  c.inc(2);
  c.inc(-1);
  c.inc(std::nan(""));
  EXPECT_EQ(c.value(), 2);
  Gauge g;
  g.set(5);
  g.add(-7.5);
  EXPECT_EQ(g.value(), -2.5);
}

TEST(Metrics, HistogramSnapshotIsCumulative) {
  Histogram h({1, 2, 3});
  for (double v : {0.5, 1.5, 1.7, 2.5, 99.0}) h.observe(v);
  h.observe(std::nan(""));
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 3, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 105.2);
}

TEST(Metrics, ManyThreadsIncrementingLoseNothing) {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      // Half the threads look the series up every time (registry lock), half keep the reference.
      auto& counter = m.counter("hits_total", "h", {{"kind", "shared"}});
      auto& hist = m.histogram("lat_seconds", "h", {}, {0.5});
      for (int i = 0; i < kPerThread; ++i) {
        if (t % 2 == 0) {
          counter.inc();
        } else {
          m.counter("hits_total", "h", {{"kind", "shared"}}).inc();
        }
        m.gauge("level", "h").add(1);
        hist.observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) (void)m.prometheus_text();  // readers race with writers
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.value("hits_total", {{"kind", "shared"}}), kThreads * kPerThread);
  EXPECT_EQ(m.value("level"), kThreads * kPerThread);
  auto s = m.histogram("lat_seconds", "h", {}, {0.5}).snapshot();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative[0], static_cast<std::uint64_t>(kThreads * kPerThread / 2));
}

TEST(PrometheusFormat, NumbersParseAsPrometheusExpects) {
  EXPECT_EQ(format_prometheus_number(0), "0");
  EXPECT_EQ(format_prometheus_number(-0.0), "0");
  EXPECT_EQ(format_prometheus_number(42), "42");
  EXPECT_EQ(format_prometheus_number(1e6), "1000000");
  EXPECT_EQ(format_prometheus_number(-3), "-3");
  EXPECT_EQ(format_prometheus_number(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_prometheus_number(0.005), "0.005");
  EXPECT_EQ(format_prometheus_number(2.5), "2.5");
  EXPECT_EQ(format_prometheus_number(1e300), "1e+300");
  EXPECT_EQ(format_prometheus_number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_prometheus_number(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_prometheus_number(std::nan("")), "NaN");
  // Shortest round trip: the text reads back as the same double.
  EXPECT_EQ(std::stod(format_prometheus_number(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(PrometheusFormat, EscapesAndNames) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  EXPECT_TRUE(is_valid_metric_name("a:b_c9"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("9a"));
  EXPECT_TRUE(is_valid_label_name("_a9"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_FALSE(is_valid_label_name("__name__"));
}

}  // namespace
}  // namespace user_export
