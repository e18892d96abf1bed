#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "common/clock.hpp"
#include "publish/message_sink.hpp"

namespace user_export {

/// The JSON-lines MessageSink, used when no Kafka bootstrap is configured: every message becomes
/// one line `{"topic":…,"key":…,"headers":{…},"value":…,"deliveredAt":"…"}` appended to a file,
/// where `value` is the payload parsed as JSON (or the payload string when it is not JSON).
/// A publish() batch is written with one append and fsynced before kDelivered is returned, so a
/// delivered message survives a crash. I/O failures never throw: the batch is reported
/// kRetriable (and any partial write is cut off again), and the file is reopened on the next
/// call. A message whose payload is not valid UTF-8 cannot be a JSON line and is kFatal.
///
/// Thread-safe: a mutex serialises appends, so lines never interleave. The file is meant to
/// have this one writing process; other processes may read it at any time.
class JsonlSink final : public MessageSink {
 public:
  /// Appends to `file` (created 0640 with its parent directories on first use); dead letters go
  /// to topic `dlq_topic`; `clock` (borrowed) stamps `deliveredAt` and `dlt-timestamp`.
  JsonlSink(std::filesystem::path file, std::string dlq_topic, const Clock& clock);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  /// Appends one line per message and fsyncs; results in input order.
  std::vector<DeliveryResult> publish(std::span<const OutboundMessage> messages) override;
  /// Appends the message with topic = the DLQ topic and the `dlt-*` and `runId` headers.
  DeliveryResult publish_dead_letter(const OutboundMessage& message,
                                     const DeadLetter& reason) override;
  /// Nothing is ever in flight: publish() returns only after the fsync.
  void flush(std::chrono::milliseconds timeout) override;

  /// The JSON-lines file.
  const std::filesystem::path& file() const { return file_; }

 private:
  /// Appends `text` and fsyncs it; returns "" on success, else what failed. Requires mu_.
  std::string append_locked(const std::string& text);
  /// Opens the file (and its directories) if it is not open; "" on success. Requires mu_.
  std::string open_locked();
  /// Closes the file so that the next append reopens it. Requires mu_.
  void close_locked();

  const std::filesystem::path file_;
  const std::string dlq_topic_;
  const Clock& clock_;

  std::mutex mu_;
  int fd_ = -1;
};

}  // namespace user_export
