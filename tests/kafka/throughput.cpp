// Measures the Kafka sink against an in-process librdkafka mock cluster.
//
//   kafka_throughput [--messages N] [--batch B] [--bytes S] [--brokers K] [--linger-ms L]
//
// Publishes N messages of S payload bytes (defaults 10000, 500, 200, 3 brokers) in batches of B
// through make_kafka_sink with the default settings (acks=all, idempotence, zstd, librdkafka's
// linger.ms unless L is given), waiting for every delivery report, and prints messages/s and the
// batch latency percentiles.
#include <algorithm>
#include <chrono>
#include <exception>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "publish/kafka/kafka_sink.hpp"
#include "support/kafka/mock_cluster.hpp"

int main(int argc, char** argv) {
  using namespace user_export;
  using testing::MockCluster;
  using Steady = std::chrono::steady_clock;
  long messages = 10000, batch = 500, bytes = 200, brokers = 3, linger_ms = -1;
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string_view arg = argv[i];
      const long value = std::stol(argv[i + 1]);
      if (arg == "--messages") {
        messages = value;
      } else if (arg == "--batch") {
        batch = value;
      } else if (arg == "--bytes") {
        bytes = value;
      } else if (arg == "--brokers") {
        brokers = value;
      } else if (arg == "--linger-ms") {
        linger_ms = value;
      } else {
        throw std::invalid_argument("unknown option " + std::string(arg));
      }
    }
    if (messages < 1 || batch < 1 || bytes < 0 || brokers < 1) {
      throw std::invalid_argument("values must be positive");
    }
    MockCluster cluster(static_cast<int>(brokers));
    cluster.create_topic("flairbit-users", 3, static_cast<int>(std::min(brokers, 3L)));
    Config config;
    config.kafka.bootstrap = cluster.bootstrap();
    if (linger_ms >= 0) config.kafka.extra["linger.ms"] = std::to_string(linger_ms);
    auto sink = make_kafka_sink(config, nullptr);

    std::vector<OutboundMessage> all;
    for (long i = 0; i < messages; ++i) {
      OutboundMessage m;
      m.run_id = RunId("run-" + std::to_string(i / batch));
      m.topic = "flairbit-users";
      m.key = "group-" + std::to_string(i % 16);
      m.payload = std::string(static_cast<std::size_t>(bytes), 'x');
      m.headers = {{"runId", m.run_id.str()},
                   {"schemaVersion", kSchemaVersion},
                   {"contentType", "application/json"}};
      all.push_back(std::move(m));
    }
    // Warm-up: connection, metadata and producer id are not part of the measurement.
    sink->publish(std::span(all.data(), 1));

    std::vector<double> batch_ms;
    long delivered = 0;
    const auto start = Steady::now();
    for (long i = 0; i < messages; i += batch) {
      const auto n = static_cast<std::size_t>(std::min(batch, messages - i));
      const auto t0 = Steady::now();
      for (const auto& r : sink->publish(std::span(all.data() + i, n))) {
        delivered += r.status == DeliveryResult::Status::kDelivered ? 1 : 0;
      }
      batch_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
    }
    const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
    std::sort(batch_ms.begin(), batch_ms.end());
    auto pct = [&](double p) {
      return batch_ms[static_cast<std::size_t>(p * static_cast<double>(batch_ms.size() - 1))];
    };
    std::cout << "messages=" << messages << " delivered=" << delivered << " batch=" << batch
              << " bytes=" << bytes << " seconds=" << seconds << " messages_per_second="
              << static_cast<long>(static_cast<double>(delivered) / seconds)
              << " batch_ms_p50=" << pct(0.5) << " batch_ms_p99=" << pct(0.99) << "\n";
    return delivered == messages ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "kafka_throughput: " << e.what() << "\n";
    return 1;
  }
}
