#include "domain/message.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace user_export {
namespace {

using nlohmann::json;

json common_fields(const MessageContext& ctx) {
  json j;
  j["schemaVersion"] = kSchemaVersion;
  j["runId"] = ctx.run_id.str();
  j["domainId"] = ctx.domain_id.str();
  j["groupId"] = ctx.group_id.str();
  j["groupType"] = to_string(ctx.group_type);
  j["slot"] = format_iso8601(SystemTime{ctx.slot});
  j["exportedAt"] = format_iso8601_ms(ctx.exported_at);
  return j;
}

OutboundMessage envelope(const MessageContext& ctx, std::string payload,
                         const std::string& content_type) {
  OutboundMessage m;
  m.run_id = ctx.run_id;
  m.topic = ctx.topic;
  m.key = ctx.group_id.str();
  m.payload = std::move(payload);
  m.headers = {{"runId", ctx.run_id.str()},
               {"schemaVersion", kSchemaVersion},
               {"contentType", content_type}};
  return m;
}

constexpr const char* kIdListContentType = "application/json";

}  // namespace

OutboundMessage build_file_message(const MessageContext& ctx, const ExportedFile& file) {
  json j = common_fields(ctx);
  j["payload"] = "USERS_EXPORT_FILE";
  j["filePath"] = file.url;
  j["contentType"] = file.content_type;
  j["bucket"] = file.bucket;
  j["objectKey"] = file.object_key;
  j["url"] = file.url;
  j["rowCount"] = file.rows;
  j["bytes"] = file.bytes;
  j["sha256"] = file.sha256;
  // Only when the store presigns (docs/FORMATS.md): without it the message is unchanged.
  if (!file.download_url.empty()) j["downloadUrl"] = file.download_url;
  return envelope(ctx, j.dump(), file.content_type);
}

OutboundMessage build_id_list_message(const MessageContext& ctx,
                                      const std::vector<std::string>& ref_ids, int part,
                                      int parts) {
  json j = common_fields(ctx);
  j["payload"] = "USERS_EXPORT_REF_IDS";
  j["contentType"] = kIdListContentType;
  j["part"] = part;
  j["parts"] = parts;
  j["rowCount"] = ref_ids.size();
  j["refIds"] = ref_ids;
  return envelope(ctx, j.dump(), kIdListContentType);
}

std::string parts_field(int parts) {
  return "\"parts\":" + std::to_string(parts) + ",";
}

IdListBuilder::IdListBuilder(MessageContext ctx, std::size_t max_bytes, PartSink sink)
    : ctx_(std::move(ctx)), max_bytes_(max_bytes), sink_(std::move(sink)) {
  // A message with no ids and the widest part numbers and row count we could write; each id
  // then adds its JSON string plus a comma.
  overhead_ = build_id_list_message(ctx_, {}, 99'999'999, 99'999'999).payload.size() + 16;
}

void IdListBuilder::add(std::string_view ref_id) {
  scratch_ = json(ref_id).dump();
  const std::size_t item = scratch_.size() + 1;
  if (overhead_ + item > max_bytes_) {
    throw Error(
        ErrorCode::kInvalidInput,
        "ref id '" + std::string(ref_id) + "' of group " + ctx_.group_id.str() +
            " does not fit in a message of max_message_bytes=" + std::to_string(max_bytes_));
  }
  if (part_count_ > 0 && overhead_ + ids_.size() + item > max_bytes_) emit();
  if (!ids_.empty()) ids_.push_back(',');
  ids_ += scratch_;
  ++part_count_;
  ++count_;
}

void IdListBuilder::emit() {
  ++parts_;
  json j = common_fields(ctx_);
  j["payload"] = "USERS_EXPORT_REF_IDS";
  j["contentType"] = kIdListContentType;
  j["part"] = parts_;
  j["parts"] = 0;  // kPartsPlaceholder: keys are written in order, rowCount follows
  j["rowCount"] = part_count_;
  std::string payload = j.dump();
  payload.pop_back();  // the closing brace; refIds are spliced in as already-encoded JSON
  payload += ",\"refIds\":[";
  payload += ids_;
  payload += "]}";
  ids_.clear();
  part_count_ = 0;
  sink_(envelope(ctx_, std::move(payload), kIdListContentType), parts_);
}

int IdListBuilder::finish() {
  if (part_count_ > 0) emit();
  std::string().swap(ids_);
  return parts_;
}

}  // namespace user_export
