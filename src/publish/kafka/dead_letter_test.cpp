#include "publish/kafka/dead_letter.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace user_export {
namespace {

std::optional<std::string> header(const OutboundMessage& m, const std::string& name) {
  for (const auto& [n, v] : m.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

int header_count(const OutboundMessage& m, const std::string& name) {
  int count = 0;
  for (const auto& h : m.headers) count += h.first == name ? 1 : 0;
  return count;
}

OutboundMessage original() {
  OutboundMessage m;
  m.run_id = RunId("run-1");
  m.topic = "flairbit-users";
  m.key = "group-1";
  m.payload = R"({"payload":"USERS_EXPORT_FILE"})";
  m.headers = {{"runId", "run-1"}, {"schemaVersion", "1.0"}, {"contentType", "text/csv"}};
  return m;
}

const SystemTime kNow = SystemTime{std::chrono::milliseconds{1'767'225'600'123}};

TEST(DeadLetterTest, KeepsKeyValueAndHeadersAndAddsTheReason) {
  const DeadLetter why{"flairbit-users", "MSG_SIZE_TOO_LARGE", "Broker: Message size too large", 4};
  const OutboundMessage d = make_dead_letter(original(), why, "flairbit-dlq", kNow, 1000);
  EXPECT_EQ(d.topic, "flairbit-dlq");
  EXPECT_EQ(d.key, "group-1");
  EXPECT_EQ(d.payload, original().payload);
  EXPECT_EQ(header(d, "schemaVersion"), "1.0");
  EXPECT_EQ(header(d, "contentType"), "text/csv");
  EXPECT_EQ(header(d, "dlt-original-topic"), "flairbit-users");
  EXPECT_EQ(header(d, "dlt-exception-code"), "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(header(d, "dlt-exception-message"), "Broker: Message size too large");
  EXPECT_EQ(header(d, "dlt-attempts"), "4");
  EXPECT_EQ(header(d, "dlt-timestamp"), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(header_count(d, "runId"), 1);
  EXPECT_FALSE(header(d, "dlt-value-bytes"));
}

TEST(DeadLetterTest, AddsRunIdAndOriginalTopicWhenMissing) {
  OutboundMessage m = original();
  m.headers.clear();
  const OutboundMessage d = make_dead_letter(m, DeadLetter{"", "X", "y", 1}, "dlq", kNow, 1000);
  EXPECT_EQ(header(d, "runId"), "run-1");
  EXPECT_EQ(header(d, "dlt-original-topic"), "flairbit-users");
}

TEST(DeadLetterTest, LeavesOutAValueThatCannotBeDelivered) {
  OutboundMessage m = original();
  m.payload.assign(2000, 'x');
  const OutboundMessage d = make_dead_letter(m, DeadLetter{}, "dlq", kNow, 1000);
  EXPECT_TRUE(d.payload.empty());
  EXPECT_EQ(header(d, "dlt-value-bytes"), "2000");
}

TEST(DeadLetterTest, ReplacesReasonHeadersOfAnEarlierDeadLetter) {
  const OutboundMessage first =
      make_dead_letter(original(), DeadLetter{"flairbit-users", "A", "a", 1}, "dlq", kNow, 1000);
  const OutboundMessage second =
      make_dead_letter(first, DeadLetter{"flairbit-users", "B", "b", 2}, "dlq", kNow, 1000);
  EXPECT_EQ(header_count(second, "dlt-exception-code"), 1);
  EXPECT_EQ(header(second, "dlt-exception-code"), "B");
  EXPECT_EQ(header(second, "dlt-attempts"), "2");
}

}  // namespace
}  // namespace user_export
