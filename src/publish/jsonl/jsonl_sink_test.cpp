#include "publish/jsonl/jsonl_sink.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "common/time_format.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using Status = DeliveryResult::Status;

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

OutboundMessage message(std::string payload, std::string key = "group-1") {
  OutboundMessage m;
  m.run_id = RunId("run-1");
  m.topic = "flairbit-users";
  m.key = std::move(key);
  m.payload = std::move(payload);
  m.headers = {{"runId", "run-1"}, {"schemaVersion", "1.0"}};
  return m;
}

class JsonlSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { file_ = dir_ / "nested" / "messages.jsonl"; }

  testing::FakeClock clock_;
  testing::TempDir dir_{"ue-jsonl"};
  fs::path file_;
};

TEST_F(JsonlSinkTest, EachMessageBecomesOneParsableLine) {
  JsonlSink sink(file_, "flairbit-dlq", clock_);
  std::vector<OutboundMessage> batch = {message(R"({"groupId":"g","rowCount":3})"),
                                        message("not json at all", "group-2")};
  auto results = sink.publish(batch);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, Status::kDelivered);
    EXPECT_TRUE(r.error.empty());
  }

  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind(R"({"topic":"flairbit-users","key":"group-1","headers":{)", 0), 0u)
      << lines[0];
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["topic"], "flairbit-users");
  EXPECT_EQ(first["key"], "group-1");
  EXPECT_EQ(first["headers"]["runId"], "run-1");
  EXPECT_EQ(first["headers"]["schemaVersion"], "1.0");
  EXPECT_EQ(first["value"]["groupId"], "g");  // the payload is embedded as JSON
  EXPECT_EQ(first["value"]["rowCount"], 3);
  EXPECT_EQ(first["deliveredAt"], format_iso8601_ms(clock_.now()));
  auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["value"], "not json at all");  // not JSON: kept as a string
  EXPECT_EQ(second["key"], "group-2");
}

// A JSON payload goes into the line as it is, byte for byte (an id list of a megabyte is not
// rebuilt as a tree), even when a header or the key spells the envelope's own field names.
TEST_F(JsonlSinkTest, AJsonPayloadIsEmbeddedVerbatim) {
  JsonlSink sink(file_, "dlq", clock_);
  const std::string payload = R"({"z":1,"a":"\u00e9\"x","refIds":["r1","r2"]})";
  OutboundMessage m = message(payload, R"(,"value":null,"deliveredAt":)");
  m.headers.emplace_back("trap", R"(,"value":null,"deliveredAt":)");
  std::vector<OutboundMessage> batch = {m};
  ASSERT_EQ(sink.publish(batch)[0].status, Status::kDelivered);
  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("value":)" + payload + R"(,"deliveredAt":")"), std::string::npos)
      << lines[0];
  auto line = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_EQ(line["value"].dump(), nlohmann::ordered_json::parse(payload).dump());
  EXPECT_EQ(line["key"], R"(,"value":null,"deliveredAt":)");
  EXPECT_EQ(line["headers"]["trap"], R"(,"value":null,"deliveredAt":)");
}

TEST_F(JsonlSinkTest, CreatesTheFileWithMode0640AndAppendsToExistingLines) {
  const mode_t old = ::umask(022);
  {
    JsonlSink sink(file_, "dlq", clock_);
    std::vector<OutboundMessage> one = {message("{}")};
    ASSERT_EQ(sink.publish(one)[0].status, Status::kDelivered);
  }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  JsonlSink again(file_, "dlq", clock_);  // a restarted process keeps what was there
  std::vector<OutboundMessage> one = {message("[1,2]")};
  ASSERT_EQ(again.publish(one)[0].status, Status::kDelivered);
  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["value"], nlohmann::json::parse("[1,2]"));
}

TEST_F(JsonlSinkTest, ConcurrentPublishersNeverInterleaveLines) {
  JsonlSink sink(file_, "dlq", clock_);
  constexpr int kThreads = 8;
  constexpr int kBatches = 50;
  const std::string filler(4096, 'x');  // long lines make any interleaving visible
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<OutboundMessage> batch;
        for (int i = 0; i < 2; ++i) {
          nlohmann::json payload = {{"t", t}, {"b", b}, {"i", i}, {"fill", filler}};
          batch.push_back(message(payload.dump()));
        }
        for (const auto& r : sink.publish(batch)) EXPECT_EQ(r.status, Status::kDelivered);
      }
    });
  }
  for (auto& th : threads) th.join();

  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kBatches * 2));
  std::set<std::tuple<int, int, int>> seen;
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);  // throws on a corrupt line
    auto& v = j["value"];
    EXPECT_EQ(v["fill"], filler);
    seen.emplace(v["t"].get<int>(), v["b"].get<int>(), v["i"].get<int>());
  }
  EXPECT_EQ(seen.size(), lines.size());
}

TEST_F(JsonlSinkTest, UnwritablePathIsRetriableAndRecoversOnceFixed) {
  fs::create_directories(dir_.path());
  std::ofstream(dir_ / "nested") << "a file where the directory should be";
  JsonlSink sink(file_, "dlq", clock_);
  std::vector<OutboundMessage> batch = {message("{}"), message("{}")};
  auto results = sink.publish(batch);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, Status::kRetriable);
    EXPECT_EQ(r.error_code, "IO_ERROR");
    EXPECT_NE(r.error.find((dir_ / "nested").string()), std::string::npos) << r.error;
  }
  auto dead = sink.publish_dead_letter(message("{}"), DeadLetter{"t", "X", "why", 1});
  EXPECT_EQ(dead.status, Status::kRetriable);

  fs::remove(dir_ / "nested");
  results = sink.publish(batch);
  EXPECT_EQ(results[0].status, Status::kDelivered);
  EXPECT_EQ(read_lines(file_).size(), 2u);
}

TEST_F(JsonlSinkTest, WriteFailureIsRetriableNotAnException) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  JsonlSink sink("/dev/full", "dlq", clock_);
  std::vector<OutboundMessage> batch = {message("{}")};
  std::vector<DeliveryResult> results;
  ASSERT_NO_THROW(results = sink.publish(batch));
  EXPECT_EQ(results[0].status, Status::kRetriable);
  EXPECT_NE(results[0].error.find("/dev/full"), std::string::npos) << results[0].error;
}

TEST_F(JsonlSinkTest, RemovedFileIsRecreated) {
  JsonlSink sink(file_, "dlq", clock_);
  std::vector<OutboundMessage> batch = {message(R"({"n":1})")};
  ASSERT_EQ(sink.publish(batch)[0].status, Status::kDelivered);
  fs::remove(file_);
  batch = {message(R"({"n":2})")};
  ASSERT_EQ(sink.publish(batch)[0].status, Status::kDelivered);
  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["value"]["n"], 2);
}

TEST_F(JsonlSinkTest, InvalidUtf8IsFatalForThatMessageOnly) {
  JsonlSink sink(file_, "dlq", clock_);
  std::vector<OutboundMessage> batch = {message("{}"), message("bad \xff\xfe bytes"),
                                        message(R"({"ok":true})")};
  auto results = sink.publish(batch);
  EXPECT_EQ(results[0].status, Status::kDelivered);
  EXPECT_EQ(results[1].status, Status::kFatal);
  EXPECT_EQ(results[1].error_code, "INVALID_MESSAGE");
  EXPECT_EQ(results[2].status, Status::kDelivered);
  EXPECT_EQ(read_lines(file_).size(), 2u);

  // The dead letter of that message is still recorded, with the bad bytes replaced.
  auto dead = sink.publish_dead_letter(
      batch[1], DeadLetter{"flairbit-users", "INVALID_MESSAGE", results[1].error, 1});
  EXPECT_EQ(dead.status, Status::kDelivered);
  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["topic"], "dlq");
}

TEST_F(JsonlSinkTest, DeadLetterCarriesTheReasonHeaders) {
  JsonlSink sink(file_, "flairbit-dlq", clock_);
  OutboundMessage m = message(R"({"groupId":"g"})");
  m.run_id = RunId("run-7");
  m.headers = {{"runId", "run-7"}, {"schemaVersion", "1.0"}};
  auto result = sink.publish_dead_letter(
      m, DeadLetter{"flairbit-users", "MSG_SIZE_TOO_LARGE", "message too large", 4});
  EXPECT_EQ(result.status, Status::kDelivered);

  auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["topic"], "flairbit-dlq");
  EXPECT_EQ(j["key"], "group-1");
  EXPECT_EQ(j["value"]["groupId"], "g");
  const auto& h = j["headers"];
  EXPECT_EQ(h["dlt-original-topic"], "flairbit-users");
  EXPECT_EQ(h["dlt-exception-code"], "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(h["dlt-exception-message"], "message too large");
  EXPECT_EQ(h["dlt-attempts"], "4");
  EXPECT_EQ(h["dlt-timestamp"], format_iso8601_ms(clock_.now()));
  EXPECT_EQ(h["runId"], "run-7");
  EXPECT_EQ(h["schemaVersion"], "1.0");  // the original headers are kept
  EXPECT_EQ(h.size(), 7u);               // runId is not duplicated
}

TEST_F(JsonlSinkTest, DeadLetterWithoutOriginalTopicNamesTheMessageTopic) {
  JsonlSink sink(file_, "flairbit-dlq", clock_);
  OutboundMessage m = message("{}");
  m.headers.clear();
  ASSERT_EQ(sink.publish_dead_letter(m, DeadLetter{"", "E", "e", 1}).status, Status::kDelivered);
  auto j = nlohmann::json::parse(read_lines(file_).at(0));
  EXPECT_EQ(j["headers"]["dlt-original-topic"], "flairbit-users");
  EXPECT_EQ(j["headers"]["runId"], "run-1");
}

TEST_F(JsonlSinkTest, EmptyBatchWritesNothing) {
  JsonlSink sink(file_, "dlq", clock_);
  EXPECT_TRUE(sink.publish({}).empty());
  sink.flush(std::chrono::milliseconds(10));
  EXPECT_FALSE(fs::exists(file_));
}

}  // namespace
}  // namespace user_export
