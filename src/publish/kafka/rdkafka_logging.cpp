#include "publish/kafka/rdkafka_logging.hpp"

#include <spdlog/spdlog.h>

namespace user_export {
namespace {

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  spdlog::log(spdlog_level_for_log(level, facility), "librdkafka {} {}: {}", rd_kafka_name(rk),
              facility, message);
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  spdlog::log(spdlog_level_for_client_error(code), "librdkafka {} {}: {}", rd_kafka_name(rk),
              rd_kafka_err2name(code), reason);
}

}  // namespace

spdlog::level::level_enum spdlog_level_for_log(int level, std::string_view facility) {
  if (level <= 2) return spdlog::level::critical;
  if (level == 3) return facility == "FAIL" ? spdlog::level::warn : spdlog::level::err;
  if (level == 4) return spdlog::level::warn;
  if (level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

spdlog::level::level_enum spdlog_level_for_client_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

void route_rdkafka_logs_to_spdlog(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_error_cb(conf, on_error);
}

}  // namespace user_export
