#include "publish/jsonl/jsonl_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace user_export {
namespace {

using Json = nlohmann::ordered_json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kIoError = "IO_ERROR";
constexpr const char* kInvalidMessage = "INVALID_MESSAGE";

/// One line of the file. Throws nlohmann::json::type_error for text that is not UTF-8, unless
/// `lenient`, which replaces such bytes with U+FFFD.
std::string encode_line(const std::string& topic, const OutboundMessage& message,
                        const Headers& headers, const std::string& delivered_at, bool lenient) {
  Json line;
  line["topic"] = topic;
  line["key"] = message.key;
  Json& h = line["headers"] = Json::object();
  for (const auto& [name, value] : headers) h[name] = value;
  // A payload that is JSON (UTF-8, checked without building it) is embedded as it is: an id
  // list of a megabyte would take many times that as a parsed tree.
  const bool embed = Json::accept(message.payload);
  line["value"] = embed ? Json(nullptr) : Json(message.payload);
  line["deliveredAt"] = delivered_at;
  const auto handler = lenient ? Json::error_handler_t::replace : Json::error_handler_t::strict;
  std::string text = line.dump(-1, ' ', false, handler);
  if (embed) {
    // The one "value":null the envelope has, between its headers object and deliveredAt.
    static constexpr std::string_view kSlot = ",\"value\":null,\"deliveredAt\":";
    const std::size_t at = text.rfind(kSlot);
    text.replace(at + 9, 4, message.payload);
  }
  return text + '\n';
}

std::string describe(const char* action, const std::filesystem::path& path, int err) {
  return std::string("cannot ") + action + " the messages file '" + path.string() +
         "': " + std::strerror(err) +
         "; check that messages.file (USER_EXPORT_MESSAGES_FILE) is on a writable disk with "
         "free space";
}

/// Sets `header` to `value`, replacing an earlier header of that name.
void set_header(Headers& headers, const std::string& name, const std::string& value) {
  for (auto& [n, v] : headers) {
    if (n == name) {
      v = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

}  // namespace

JsonlSink::JsonlSink(std::filesystem::path file, std::string dlq_topic, const Clock& clock)
    : file_(std::move(file)), dlq_topic_(std::move(dlq_topic)), clock_(clock) {}

JsonlSink::~JsonlSink() {
  std::lock_guard lock(mu_);
  close_locked();
}

std::vector<DeliveryResult> JsonlSink::publish(std::span<const OutboundMessage> messages) {
  std::vector<DeliveryResult> results(messages.size());
  const std::string delivered_at = format_iso8601_ms(clock_.now());
  std::string batch;
  std::size_t expected = 0;  // payloads plus room for each envelope: one allocation, no doubling
  for (const auto& m : messages) expected += m.payload.size() + m.key.size() + 512;
  batch.reserve(expected);
  std::vector<std::size_t> written;  // indexes of the messages in `batch`
  for (std::size_t i = 0; i < messages.size(); ++i) {
    try {
      batch +=
          encode_line(messages[i].topic, messages[i], messages[i].headers, delivered_at, false);
      written.push_back(i);
    } catch (const nlohmann::json::exception& e) {
      results[i] = {DeliveryResult::Status::kFatal, kInvalidMessage,
                    std::string("the message cannot be written as a JSON line: ") + e.what()};
    }
  }
  if (written.empty()) return results;

  std::string error;
  {
    std::lock_guard lock(mu_);
    error = append_locked(batch);
  }
  for (std::size_t i : written) {
    if (!error.empty()) results[i] = {DeliveryResult::Status::kRetriable, kIoError, error};
  }
  return results;
}

DeliveryResult JsonlSink::publish_dead_letter(const OutboundMessage& message,
                                              const DeadLetter& reason) {
  const std::string now = format_iso8601_ms(clock_.now());
  Headers headers = message.headers;
  set_header(headers, "dlt-original-topic",
             reason.original_topic.empty() ? message.topic : reason.original_topic);
  set_header(headers, "dlt-exception-code", reason.error_code);
  set_header(headers, "dlt-exception-message", reason.error);
  set_header(headers, "dlt-attempts", std::to_string(reason.attempts));
  set_header(headers, "dlt-timestamp", now);
  set_header(headers, "runId", message.run_id.str());
  // A dead letter must be recorded whatever its bytes, so invalid UTF-8 is replaced here.
  const std::string line = encode_line(dlq_topic_, message, headers, now, true);
  std::string error;
  {
    std::lock_guard lock(mu_);
    error = append_locked(line);
  }
  if (!error.empty()) return {DeliveryResult::Status::kRetriable, kIoError, error};
  return {};
}

void JsonlSink::flush(std::chrono::milliseconds /*timeout*/) {}

std::string JsonlSink::open_locked() {
  if (fd_ >= 0) {
    // A file removed behind our back (say, by an operator) is replaced by a new one rather than
    // written to as an invisible inode.
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && st.st_nlink > 0) return {};
    close_locked();
  }
  const auto dir = file_.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return "cannot create the directory '" + dir.string() +
             "' of the messages file: " + ec.message() +
             "; check messages.file (USER_EXPORT_MESSAGES_FILE)";
    }
  }
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return describe("open", file_, errno);
  fd_ = fd;
  // Make the file's directory entry durable too, not only its contents.
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

void JsonlSink::close_locked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string JsonlSink::append_locked(const std::string& text) {
  if (auto error = open_locked(); !error.empty()) return error;
  struct stat st {};
  const off_t before = ::fstat(fd_, &st) == 0 ? st.st_size : -1;
  auto fail = [&](const char* action, int err) {
    // Cut a partial batch off again so the file holds only whole lines, then start afresh.
    if (before >= 0) (void)::ftruncate(fd_, before);
    close_locked();
    return describe(action, file_, err);
  };
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("append to", errno);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) return fail("fsync", errno);
  return {};
}

}  // namespace user_export
