#include "observe/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "observe/logging.hpp"
#include "support/captured_log.hpp"

namespace user_export {
namespace {

using testing::CapturedLog;

TEST(Log, TextModeWritesMessageThenKeyValuePairs) {
  CapturedLog captured(false);
  log::info("group export finished",
            {{"run_id", "r-1"}, {"group_id", "g 1"}, {"rows", std::int64_t{42}}, {"ok", true}});
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(
      lines[0].find(" info group export finished run_id=r-1 group_id=\"g 1\" rows=42 ok=true"),
      std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].find('{'), std::string::npos);
}

TEST(Log, TextModeQuotesAndEscapesAwkwardValues) {
  EXPECT_EQ(log::render_text("m", {{"e", ""}, {"q", "a\"b"}, {"n", "x\ny"}, {"eq", "k=v"}}),
            "m e=\"\" q=\"a\\\"b\" n=\"x\\ny\" eq=\"k=v\"");
}

TEST(Log, JsonModeWritesOneParsableObjectPerLineWithTheFields) {
  CapturedLog captured(true);
  log::error("message dead-lettered", {{"run_id", "r\"1"},
                                       {"group_id", "g\\1"},
                                       {"slot", "2026-01-01T00:00:00Z"},
                                       {"reason", "bad\nbyte \xff end\x01"},
                                       {"attempt", 3},
                                       {"seconds", 0.25}});
  spdlog::warn("plain line {}", "with \"quotes\"");
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 2u);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "error");
  EXPECT_EQ(first["msg"], "message dead-lettered");
  EXPECT_EQ(first["run_id"], "r\"1");
  EXPECT_EQ(first["group_id"], "g\\1");
  EXPECT_EQ(first["slot"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(first["reason"], "bad\nbyte \xef\xbf\xbd end\x01");
  EXPECT_EQ(first["attempt"], 3);
  EXPECT_DOUBLE_EQ(first["seconds"].get<double>(), 0.25);
  const std::string ts = first["ts"];
  EXPECT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts.back(), 'Z');
  auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["msg"], "plain line with \"quotes\"");
  EXPECT_FALSE(second.contains("run_id")) << "fields of an earlier line must not leak";
}

TEST(Log, JsonModeKeepsReservedKeysAndNonFiniteNumbersValid) {
  CapturedLog captured(true);
  log::info("m", {{"msg", "spoof"}, {"level", "x"}, {"ratio", 0.0 / 0.0}});
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["msg"], "m");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["ratio"], "NaN");
}

TEST(Log, DisabledLevelsWriteNothing) {
  CapturedLog captured(true, spdlog::level::warn);
  log::info("hidden", {{"run_id", "r"}});
  log::debug("hidden too");
  log::warn("shown");
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["msg"], "shown");
}

TEST(Log, UnknownLevelIsAConfigError) {
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("off"), spdlog::level::off);
  try {
    parse_log_level("verbose");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("verbose"), std::string::npos);
  }
}

}  // namespace
}  // namespace user_export
