#pragma once

#include <librdkafka/rdkafka.h>
#include <spdlog/common.h>

#include <string_view>

namespace user_export {

/// The spdlog level for a librdkafka log line of syslog `level` and `facility`: 0-2 critical,
/// 3 error, 4 warning, 5-6 info, 7 debug; except that a failed broker connection (facility FAIL)
/// is a warning, since librdkafka reconnects by itself and undelivered messages are reported
/// per message.
spdlog::level::level_enum spdlog_level_for_log(int level, std::string_view facility);

/// The spdlog level for an error reported through librdkafka's error callback: fatal errors are
/// errors; lost connections and all-brokers-down are warnings (librdkafka reconnects by itself and
/// undelivered messages are reported per message); anything else is an error.
spdlog::level::level_enum spdlog_level_for_client_error(rd_kafka_resp_err_t err);

/// Routes librdkafka's log and error callbacks of `conf` to spdlog's default logger. The
/// callbacks run on librdkafka's threads (log) or the polling thread (errors); spdlog's default
/// logger is thread-safe.
void route_rdkafka_logs_to_spdlog(rd_kafka_conf_t* conf);

}  // namespace user_export
