#include "observe/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "common/error.hpp"
#include "observe/log.hpp"

namespace user_export {
namespace {

/// One JSON object per line: {"ts":"…Z","level":"info","msg":"…", fields of log::write…}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"ts\":\"" + timestamp(msg.time) + "\",\"level\":\"";
    line.append(spdlog::level::to_string_view(msg.level).data(),
                spdlog::level::to_string_view(msg.level).size());
    line += "\",\"msg\":\"";
    line += log::json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    line += '"';
    if (const log::Fields* fields = log::current_fields()) {
      for (const log::Field& f : *fields) {
        if (f.key == "ts" || f.key == "level" || f.key == "msg") continue;  // reserved
        line += ",\"" + log::json_escape(f.key) + "\":";
        if (f.number) {
          line += f.value;
        } else {
          line += '"' + log::json_escape(f.value) + '"';
        }
      }
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  /// ISO-8601 UTC with milliseconds.
  static std::string timestamp(spdlog::log_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms.count() % 1000));
    return std::string(date) + millis;
  }
};

}  // namespace

spdlog::level::level_enum parse_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw Error(ErrorCode::kConfig, "unknown log level '" + level +
                                        "' (expected trace, debug, info, warn, error or off)");
  }
  return parsed;
}

void install_logger(spdlog::sink_ptr sink, spdlog::level::level_enum level, bool json) {
  auto logger = std::make_shared<spdlog::logger>("user-export", std::move(sink));
  if (json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc));
  }
  logger->set_level(level);
  log::set_json(json);
  spdlog::set_default_logger(std::move(logger));
}

void init_logging(const std::string& level, bool json) {
  install_logger(std::make_shared<spdlog::sinks::stderr_sink_mt>(), parse_log_level(level), json);
}

}  // namespace user_export
