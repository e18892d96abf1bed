#include "support/kafka/fault_commands.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <exception>
#include <sstream>
#include <utility>
#include <vector>

namespace user_export::testing {
namespace {

constexpr std::string_view kErrPrefix = "RD_KAFKA_RESP_ERR_";

constexpr std::array<std::pair<std::string_view, std::int16_t>, 25> kApiKeys = {{
    {"produce", 0},
    {"fetch", 1},
    {"listoffsets", 2},
    {"metadata", 3},
    {"offsetcommit", 8},
    {"offsetfetch", 9},
    {"findcoordinator", 10},
    {"joingroup", 11},
    {"heartbeat", 12},
    {"leavegroup", 13},
    {"syncgroup", 14},
    {"describegroups", 15},
    {"listgroups", 16},
    {"saslhandshake", 17},
    {"apiversions", 18},
    {"createtopics", 19},
    {"deletetopics", 20},
    {"deleterecords", 21},
    {"initproducerid", 22},
    {"offsetforleaderepoch", 23},
    {"addpartitionstotxn", 24},
    {"addoffsetstotxn", 25},
    {"endtxn", 26},
    {"txnoffsetcommit", 28},
    {"saslauthenticate", 36},
}};

template <typename Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string> split(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string usage_error(const std::string& usage) {
  return "ERR usage: " + usage;
}

/// Runs the command in `words` (non-empty); throws on failure.
std::string run(MockCluster& cluster, const std::vector<std::string>& words) {
  const std::string& cmd = words[0];
  const std::size_t args = words.size() - 1;
  auto number = [&](std::size_t i) -> std::optional<int> { return parse_int<int>(words[i]); };
  if (cmd == "broker_down" || cmd == "broker_up") {
    if (args != 1 || !number(1)) return usage_error(cmd + " ID");
    cmd == "broker_down" ? cluster.broker_down(*number(1)) : cluster.broker_up(*number(1));
    return "OK";
  }
  if (cmd == "all_down" || cmd == "all_up") {
    if (args != 0) return usage_error(cmd);
    cmd == "all_down" ? cluster.all_down() : cluster.all_up();
    return "OK";
  }
  if (cmd == "rtt") {
    if (args != 2 || !number(1) || !number(2) || *number(2) < 0) return usage_error("rtt ID MS");
    cluster.set_rtt(*number(1), *number(2));
    return "OK";
  }
  if (cmd == "error") {
    if (args == 4) {
      return "ERR request errors apply to every topic of the mock cluster; use `error APIKEY "
             "ERRCODE COUNT`, or `topic_error TOPIC ERRCODE` for one topic";
    }
    if (args != 3) return usage_error("error APIKEY ERRCODE COUNT");
    const auto api = parse_api_key(words[1]);
    if (!api) return "ERR unknown API key '" + words[1] + "' (e.g. Produce or 0)";
    const auto err = parse_error_code(words[2]);
    if (!err) return "ERR unknown error code '" + words[2] + "' (e.g. MSG_SIZE_TOO_LARGE or 10)";
    const auto count = parse_int<std::size_t>(words[3]);
    if (!count || *count == 0) return "ERR COUNT must be a positive number";
    cluster.push_request_errors(*api, *err, *count);
    return "OK";
  }
  if (cmd == "topic_error") {
    if (args != 2) return usage_error("topic_error TOPIC ERRCODE");
    const auto err = parse_error_code(words[2]);
    if (!err) return "ERR unknown error code '" + words[2] + "'";
    cluster.set_topic_error(words[1], *err);
    return "OK";
  }
  if (cmd == "topic_create") {
    if ((args != 2 && args != 3) || !number(2) || *number(2) < 1 || (args == 3 && !number(3))) {
      return usage_error("topic_create NAME PARTITIONS [REPLICATION]");
    }
    const int replication = args == 3 ? *number(3) : std::min(3, cluster.brokers());
    cluster.create_topic(words[1], *number(2), replication);
    return "OK";
  }
  return "ERR unknown command '" + cmd +
         "' (broker_down, broker_up, all_down, all_up, rtt, error, topic_error, topic_create, "
         "quit)";
}

}  // namespace

std::optional<rd_kafka_resp_err_t> parse_error_code(std::string_view text) {
  const std::optional<int> number = parse_int<int>(text);
  if (text.starts_with(kErrPrefix)) text.remove_prefix(kErrPrefix.size());
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name == nullptr) continue;  // gaps in librdkafka's table
    if (number ? descs[i].code == *number : text == descs[i].name) return descs[i].code;
  }
  return std::nullopt;
}

std::optional<std::int16_t> parse_api_key(std::string_view text) {
  if (auto n = parse_int<std::int16_t>(text)) {
    return *n >= 0 ? std::optional(*n) : std::nullopt;
  }
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [name, key] : kApiKeys) {
    if (lower == name) return key;
  }
  return std::nullopt;
}

FaultCommandReply apply_fault_command(MockCluster& cluster, std::string_view line) {
  const std::vector<std::string> words = split(line);
  if (words.empty() || words[0].starts_with('#')) return {};
  if (words[0] == "quit") return {"OK", true};
  try {
    return {run(cluster, words), false};
  } catch (const std::exception& e) {
    return {std::string("ERR ") + e.what(), false};
  }
}

}  // namespace user_export::testing
