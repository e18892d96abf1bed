// A librdkafka mock cluster as a process, for tests that need a Kafka peer on loopback.
//
//   kafka_mock_cluster [--brokers N] [--partitions P]
//
// Creates the topics flairbit-users and flairbit-dlq (P partitions, replicated on up to three
// brokers), prints `BOOTSTRAP=host:port,...` and then reads fault commands from stdin, one per
// line, answering each with `OK` or `ERR reason` (see fault_commands.hpp for the commands). It
// exits on `quit` or when stdin closes.
#include "support/kafka/mock_cluster.hpp"

#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "support/kafka/fault_commands.hpp"

namespace {

int parse_positive(std::string_view text, const char* what) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 1) {
    throw std::invalid_argument(std::string(what) + " must be a positive number, got '" +
                                std::string(text) + "'");
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  int partitions = 3;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if ((arg == "--brokers" || arg == "--partitions") && i + 1 < argc) {
        const int value = parse_positive(argv[i + 1], argv[i]);
        (arg == "--brokers" ? brokers : partitions) = value;
        ++i;
      } else {
        std::cerr << "usage: " << argv[0] << " [--brokers N] [--partitions P]\n";
        return 2;
      }
    }
    user_export::testing::MockCluster cluster(brokers);
    const int replication = brokers < 3 ? brokers : 3;
    cluster.create_topic("flairbit-users", partitions, replication);
    cluster.create_topic("flairbit-dlq", partitions, replication);
    std::cout << "BOOTSTRAP=" << cluster.bootstrap() << std::endl;  // flushed

    for (std::string line; std::getline(std::cin, line);) {
      const user_export::testing::FaultCommandReply reply =
          user_export::testing::apply_fault_command(cluster, line);
      if (!reply.text.empty()) std::cout << reply.text << std::endl;
      if (reply.quit) break;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kafka_mock_cluster: " << e.what() << "\n";
    return 1;
  }
}
