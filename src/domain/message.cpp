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
  j["runId"] = ctx.run_id;
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
  m.headers = {{"runId", ctx.run_id},
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

std::vector<OutboundMessage> build_id_list_messages(const MessageContext& ctx,
                                                    const std::vector<std::string>& ref_ids,
                                                    std::size_t max_bytes) {
  std::vector<OutboundMessage> out;
  if (ref_ids.empty()) return out;
  // Size of a message with no ids and the widest part numbers and row count we could write;
  // each id then adds its JSON-escaped length plus quotes and a comma.
  const std::size_t overhead =
      build_id_list_message(ctx, {}, 99'999'999, 99'999'999).payload.size() + 16;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [begin, end) into ref_ids
  std::size_t begin = 0;
  std::size_t size = overhead;
  for (std::size_t i = 0; i < ref_ids.size(); ++i) {
    std::size_t item = json(ref_ids[i]).dump().size() + 1;
    if (overhead + item > max_bytes) {
      throw Error(ErrorCode::kInvalidInput,
                  "ref id '" + ref_ids[i] + "' of group " + ctx.group_id.str() +
                      " does not fit in a message of max_message_bytes=" +
                      std::to_string(max_bytes));
    }
    if (size + item > max_bytes) {
      ranges.emplace_back(begin, i);
      begin = i;
      size = overhead;
    }
    size += item;
  }
  ranges.emplace_back(begin, ref_ids.size());
  const int parts = static_cast<int>(ranges.size());
  out.reserve(ranges.size());
  for (int p = 0; p < parts; ++p) {
    auto [b, e] = ranges[static_cast<std::size_t>(p)];
    std::vector<std::string> chunk(ref_ids.begin() + static_cast<std::ptrdiff_t>(b),
                                   ref_ids.begin() + static_cast<std::ptrdiff_t>(e));
    out.push_back(build_id_list_message(ctx, chunk, p + 1, parts));
  }
  return out;
}

}  // namespace user_export
