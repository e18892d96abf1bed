#pragma once

#include <cstdint>
#include <string>
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
  std::string run_id;
  std::string topic;
  std::string key;      ///< The group id.
  std::string payload;  ///< JSON text.
  std::vector<std::pair<std::string, std::string>> headers;
  int attempts = 0;  ///< Delivery attempts made so far.
};

/// The common fields of every message about a run.
struct MessageContext {
  std::string run_id;
  DomainId domain_id;
  GroupId group_id;
  GroupType group_type = GroupType::kCostBased;
  Slot slot{};
  SystemTime exported_at{};
  std::string topic;
};

/// The file message of a cost-based run: NodeExchange-compatible JSON (payload, groupId,
/// filePath, contentType) plus schemaVersion, runId, domainId, groupType, bucket, objectKey,
/// url, rowCount, bytes, sha256, slot, exportedAt. Headers: runId, schemaVersion, contentType.
OutboundMessage build_file_message(const MessageContext& ctx, const ExportedFile& file);

/// One id-list message of a non-cost-based run, part `part` (1-based) of `parts`.
OutboundMessage build_id_list_message(const MessageContext& ctx,
                                      const std::vector<std::string>& ref_ids, int part, int parts);

/// Builds the id-list messages of a run incrementally while ids are streamed, so memory holds
/// only the JSON text of the messages (about 40 bytes an id), never a vector of strings.
/// Each message's payload stays at most `max_bytes`; parts are numbered when finished.
class IdListBuilder {
 public:
  IdListBuilder(MessageContext ctx, std::size_t max_bytes);
  /// Appends one ref id. Throws Error(kInvalidInput) if the id alone cannot fit a message.
  void add(std::string_view ref_id);
  /// Ids added so far.
  std::int64_t count() const { return count_; }
  /// The messages, parts 1..n of n; none when no id was added.
  std::vector<OutboundMessage> finish();

 private:
  struct Chunk {
    std::string ids;  ///< comma-separated JSON strings
    std::int64_t count = 0;
  };
  MessageContext ctx_;
  std::size_t max_bytes_;
  std::size_t overhead_;
  std::vector<Chunk> chunks_;
  std::int64_t count_ = 0;
  std::string scratch_;
};

/// Splits `ref_ids` into as few id-list messages as keep each payload at most `max_bytes`
/// bytes; every part has the same runId and `part`/`parts`. Empty input gives no message.
/// Throws Error(kInvalidInput) if a single id cannot fit.
std::vector<OutboundMessage> build_id_list_messages(const MessageContext& ctx,
                                                    const std::vector<std::string>& ref_ids,
                                                    std::size_t max_bytes);

}  // namespace user_export
