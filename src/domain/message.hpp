#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "domain/exported_file.hpp"
#include "domain/group.hpp"
#include "domain/run.hpp"

namespace user_export {

/// Version of the CSV layout and the message schema; travels in every message, in object
/// metadata and optionally as a CSV column.
inline constexpr const char* kSchemaVersion = "1.0";

/// A message as kept in the outbox and handed to a MessageSink.
struct OutboundMessage {
  std::int64_t outbox_id = 0;  ///< Row id in the outbox; 0 before it is stored.
  RunId run_id;
  std::string topic;
  std::string key;      ///< The group id.
  std::string payload;  ///< JSON text.
  std::vector<std::pair<std::string, std::string>> headers;
  int attempts = 0;  ///< Delivery attempts made so far.
};

/// The common fields of every message about a run.
struct MessageContext {
  RunId run_id;
  DomainId domain_id;
  GroupId group_id;
  GroupType group_type = GroupType::kCostBased;
  Slot slot{};
  SystemTime exported_at{};
  std::string topic;
};

/// The file message of a cost-based run: NodeExchange-compatible JSON (payload, groupId,
/// filePath, contentType) plus schemaVersion, runId, domainId, groupType, bucket, objectKey,
/// url, rowCount, bytes, sha256, slot, exportedAt, and downloadUrl when `file.download_url` is
/// set (absent otherwise). Headers: runId, schemaVersion, contentType.
OutboundMessage build_file_message(const MessageContext& ctx, const ExportedFile& file);

/// One id-list message of a non-cost-based run, part `part` (1-based) of `parts`.
OutboundMessage build_id_list_message(const MessageContext& ctx,
                                      const std::vector<std::string>& ref_ids, int part, int parts);

/// The part count of an id-list part written before the count is known: `"parts":0,`. Inside
/// JSON strings every quote is escaped, so this text occurs once in a part's payload, and the
/// commit's replace() in the database turns it into the real count (docs/ARCHITECTURE.md,
/// "Id-list parts").
inline constexpr std::string_view kPartsPlaceholder = "\"parts\":0,";
/// `"parts":N,`, what kPartsPlaceholder becomes.
std::string parts_field(int parts);

/// Builds the id-list parts of a run while ids are streamed and hands each to `sink` as soon as
/// it is full, so memory holds one part's JSON text (at most `max_bytes`), never the group.
/// Parts are numbered 1, 2, … as they are handed over; their `parts` field is
/// kPartsPlaceholder until the count is known, big enough for any count (the payload stays at
/// most `max_bytes` once it is filled in).
class IdListBuilder {
 public:
  /// Receives a finished part and its number (1-based).
  using PartSink = std::function<void(OutboundMessage part, int number)>;
  IdListBuilder(MessageContext ctx, std::size_t max_bytes, PartSink sink);
  /// Appends one ref id; hands the current part to the sink first when the id does not fit
  /// in it. Throws Error(kInvalidInput) if the id alone cannot fit a message.
  void add(std::string_view ref_id);
  /// Ids added so far.
  std::int64_t count() const { return count_; }
  /// Hands the last part to the sink; returns the number of parts (0 when no id was added).
  int finish();

 private:
  void emit();

  MessageContext ctx_;
  std::size_t max_bytes_;
  PartSink sink_;
  std::size_t overhead_;
  std::string ids_;  ///< comma-separated JSON strings of the current part
  std::int64_t part_count_ = 0;
  int parts_ = 0;
  std::int64_t count_ = 0;
  std::string scratch_;
};

}  // namespace user_export
