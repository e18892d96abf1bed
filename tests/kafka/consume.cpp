// Reads a topic from the beginning and prints one JSON line per record: an independent reader
// for tests.
//
//   kafka_consume --bootstrap HOST:PORT,... --topic TOPIC [--idle-ms N] [--max-wait-ms M]
//
// Stops when every partition reached its end, when nothing arrived for N ms (default 2000), or
// after M ms (default 30000). Each line: {"topic","partition","offset","key","headers","value"}.
#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "publish/kafka/testing/topic_reader.hpp"

int main(int argc, char** argv) {
  std::string bootstrap;
  std::string topic;
  long idle_ms = 2000;
  long max_wait_ms = 30000;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (i + 1 >= argc) {
        bootstrap.clear();
        break;
      }
      if (arg == "--bootstrap") {
        bootstrap = argv[++i];
      } else if (arg == "--topic") {
        topic = argv[++i];
      } else if (arg == "--idle-ms") {
        idle_ms = std::stol(argv[++i]);
      } else if (arg == "--max-wait-ms") {
        max_wait_ms = std::stol(argv[++i]);
      } else {
        bootstrap.clear();
        break;
      }
    }
    if (bootstrap.empty() || topic.empty()) {
      std::cerr << "usage: " << argv[0]
                << " --bootstrap HOST:PORT,... --topic TOPIC [--idle-ms N] [--max-wait-ms M]\n";
      return 2;
    }
    const auto records =
        user_export::read_topic(bootstrap, topic, std::chrono::milliseconds{idle_ms},
                                std::chrono::milliseconds{max_wait_ms});
    for (const auto& record : records) std::cout << user_export::to_json_line(record) << "\n";
    std::cout.flush();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kafka_consume: " << e.what() << "\n";
    return 1;
  }
}
