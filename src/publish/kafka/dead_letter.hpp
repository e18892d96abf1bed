#pragma once

#include <cstddef>
#include <string>

#include "common/clock.hpp"
#include "domain/message.hpp"
#include "publish/message_sink.hpp"

namespace user_export {

/// Header naming the topic the message was meant for.
inline constexpr const char* kDltOriginalTopicHeader = "dlt-original-topic";
/// Header with the error code of the last delivery attempt (e.g. MSG_SIZE_TOO_LARGE).
inline constexpr const char* kDltExceptionCodeHeader = "dlt-exception-code";
/// Header with the human-readable error of the last delivery attempt.
inline constexpr const char* kDltExceptionMessageHeader = "dlt-exception-message";
/// Header with the number of delivery attempts made, in decimal.
inline constexpr const char* kDltAttemptsHeader = "dlt-attempts";
/// Header with the time the message was dead-lettered (ISO-8601 UTC, milliseconds).
inline constexpr const char* kDltTimestampHeader = "dlt-timestamp";
/// Header with the original value's size in bytes, present only when the value was left out.
inline constexpr const char* kDltValueBytesHeader = "dlt-value-bytes";
/// Header with the run id (also carried by every original message).
inline constexpr const char* kRunIdHeader = "runId";

/// The record to publish on `dlq_topic` for `message`, dead-lettered for `reason` at `now`: the
/// same key and value and the original headers, with dlt-original-topic (the reason's topic, or
/// the message's when the reason names none), dlt-exception-code, dlt-exception-message,
/// dlt-attempts, dlt-timestamp and runId set (replacing headers of the same name, as the
/// JSON-lines sink does). A value larger than `max_value_bytes` cannot be delivered anywhere, so
/// it is left out (empty value) and dlt-value-bytes records its size; the outbox keeps the full
/// payload.
OutboundMessage make_dead_letter(const OutboundMessage& message, const DeadLetter& reason,
                                 const std::string& dlq_topic, SystemTime now,
                                 std::size_t max_value_bytes);

}  // namespace user_export
