#include "publish/kafka/dead_letter.hpp"

#include <algorithm>
#include <utility>

#include "common/time_format.hpp"

namespace user_export {
namespace {

/// Replaces the value of header `name`, or appends it when absent.
void set_header(std::vector<std::pair<std::string, std::string>>& headers, const std::string& name,
                std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(),
                         [&](const auto& header) { return header.first == name; });
  if (it != headers.end()) {
    it->second = std::move(value);
  } else {
    headers.emplace_back(name, std::move(value));
  }
}

}  // namespace

OutboundMessage make_dead_letter(const OutboundMessage& message, const DeadLetter& reason,
                                 const std::string& dlq_topic, SystemTime now,
                                 std::size_t max_value_bytes) {
  OutboundMessage letter = message;
  letter.topic = dlq_topic;
  auto& h = letter.headers;
  set_header(h, kDltOriginalTopicHeader,
             reason.original_topic.empty() ? message.topic : reason.original_topic);
  set_header(h, kDltExceptionCodeHeader, reason.error_code);
  set_header(h, kDltExceptionMessageHeader, reason.error);
  set_header(h, kDltAttemptsHeader, std::to_string(reason.attempts));
  set_header(h, kDltTimestampHeader, format_iso8601_ms(now));
  set_header(h, kRunIdHeader, message.run_id.str());
  if (letter.payload.size() > max_value_bytes) {
    set_header(h, kDltValueBytesHeader, std::to_string(letter.payload.size()));
    letter.payload.clear();
  }
  return letter;
}

}  // namespace user_export
