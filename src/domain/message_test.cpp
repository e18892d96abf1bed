#include "domain/message.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace user_export {
namespace {

/// kPartsPlaceholder in `payload` replaced by the count, as the commit does in the database.
void fill_parts(std::string& payload, int parts) {
  const std::size_t at = payload.find(kPartsPlaceholder);
  if (at == std::string::npos) {
    throw Error(ErrorCode::kInternal, "an id-list part has no part count to fill in");
  }
  payload.replace(at, kPartsPlaceholder.size(), parts_field(parts));
}

/// Every part of `ref_ids`, collected from IdListBuilder and with its count filled in.
std::vector<OutboundMessage> build_id_list_messages(const MessageContext& ctx,
                                                    const std::vector<std::string>& ref_ids,
                                                    std::size_t max_bytes) {
  std::vector<OutboundMessage> out;
  IdListBuilder builder(ctx, max_bytes,
                        [&](OutboundMessage part, int) { out.push_back(std::move(part)); });
  for (const auto& id : ref_ids) builder.add(id);
  const int parts = builder.finish();
  for (auto& message : out) fill_parts(message.payload, parts);
  return out;
}

MessageContext context() {
  MessageContext ctx;
  ctx.run_id = RunId("11111111-2222-4333-8444-555555555555");
  ctx.domain_id = DomainId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  ctx.group_id = GroupId::parse("6f2504e0-4f89-11d3-9a0c-0305e82c3302");
  ctx.group_type = GroupType::kNonCostBased;
  ctx.slot = Slot{std::chrono::seconds{1'764'104'340}};
  ctx.exported_at = SystemTime{std::chrono::seconds{1'764'104'345}};
  ctx.topic = "flairbit-users";
  return ctx;
}

TEST(Message, FileMessageCarriesNodeExchangeFieldsAndHeaders) {
  auto ctx = context();
  ctx.group_type = GroupType::kCostBased;
  ExportedFile f;
  f.bucket = "exports";
  f.object_key = "k/x.csv.gz";
  f.url = "s3://exports/k/x.csv.gz";
  f.rows = 12;
  f.bytes = 345;
  f.sha256 = "ab";
  auto m = build_file_message(ctx, f);
  auto j = nlohmann::json::parse(m.payload);
  EXPECT_EQ(m.key, ctx.group_id.str());
  EXPECT_EQ(m.topic, "flairbit-users");
  EXPECT_EQ(j["groupId"], ctx.group_id.str());
  EXPECT_EQ(j["filePath"], "s3://exports/k/x.csv.gz");
  EXPECT_EQ(j["contentType"], "application/gzip");
  EXPECT_EQ(j["rowCount"], 12);
  EXPECT_EQ(j["bytes"], 345);
  EXPECT_EQ(j["groupType"], "COST_BASED");
  EXPECT_EQ(j["slot"], "2025-11-25T20:59:00Z");
  EXPECT_EQ(j["schemaVersion"], kSchemaVersion);
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0], (std::pair<std::string, std::string>{"runId", ctx.run_id.str()}));
}

ExportedFile s3_file() {
  ExportedFile f;
  f.bucket = "exports";
  f.object_key = "k/x.csv.gz";
  f.url = "s3://exports/k/x.csv.gz";
  f.rows = 12;
  f.bytes = 345;
  f.sha256 = "ab";
  return f;
}

/// The file message's payload for s3_file() as consumers have always received it.
constexpr std::string_view kFilePayloadBefore =
    R"({"bucket":"exports","bytes":345,"contentType":"application/gzip",)"
    R"("domainId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301",)"
    R"("exportedAt":"2025-11-25T20:59:05.000Z","filePath":"s3://exports/k/x.csv.gz",)"
    R"("groupId":"6f2504e0-4f89-11d3-9a0c-0305e82c3302","groupType":"COST_BASED",)"
    R"("objectKey":"k/x.csv.gz","payload":"USERS_EXPORT_FILE","rowCount":12,)"
    R"("runId":"11111111-2222-4333-8444-555555555555","schemaVersion":"1.0","sha256":"ab",)"
    R"("slot":"2025-11-25T20:59:00Z","url":"s3://exports/k/x.csv.gz"})";

TEST(Message, WithoutADownloadUrlTheFileMessageIsByteForByteUnchanged) {
  auto ctx = context();
  ctx.group_type = GroupType::kCostBased;
  const auto m = build_file_message(ctx, s3_file());
  EXPECT_EQ(m.payload, kFilePayloadBefore);
  EXPECT_FALSE(nlohmann::json::parse(m.payload).contains("downloadUrl"));
}

TEST(Message, ADownloadUrlIsTheOnlyFieldAdded) {
  auto ctx = context();
  ctx.group_type = GroupType::kCostBased;
  ExportedFile f = s3_file();
  f.download_url =
      "http://127.0.0.1:9000/exports/k/x.csv.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
      "X-Amz-Credential=AKID%2F20251125%2Fus-east-1%2Fs3%2Faws4_request&"
      "X-Amz-Date=20251125T205905Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=0123abcd";
  const auto m = build_file_message(ctx, f);
  std::string expected(kFilePayloadBefore);
  const std::string after_domain = R"("domainId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301",)";
  expected.insert(expected.find(after_domain) + after_domain.size(),
                  R"("downloadUrl":")" + f.download_url + R"(",)");
  EXPECT_EQ(m.payload, expected);
  EXPECT_EQ(nlohmann::json::parse(m.payload)["downloadUrl"], f.download_url);
  EXPECT_EQ(m.headers, build_file_message(ctx, s3_file()).headers);
}

TEST(Message, IdListMessagesNeverCarryADownloadUrl) {
  const auto parts = build_id_list_messages(context(), {"a", "b"}, 4096);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(parts[0].payload).contains("downloadUrl"));
}

TEST(Message, IdListSplitsUnderLimitAndKeepsEveryIdOnce) {
  auto ctx = context();
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back("ref-" + std::to_string(i));
  const std::size_t limit = 4096;
  auto msgs = build_id_list_messages(ctx, ids, limit);
  ASSERT_GT(msgs.size(), 1u);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_LE(msgs[i].payload.size(), limit);
    auto j = nlohmann::json::parse(msgs[i].payload);
    EXPECT_EQ(j["part"], i + 1);
    EXPECT_EQ(j["parts"], msgs.size());
    EXPECT_EQ(j["runId"], ctx.run_id.str());
    for (auto& id : j["refIds"]) seen.push_back(id.get<std::string>());
  }
  EXPECT_EQ(seen, ids);
}

TEST(Message, IdListEmptyGivesNothingAndOversizedIdIsAnError) {
  auto ctx = context();
  EXPECT_TRUE(build_id_list_messages(ctx, {}, 1000).empty());
  EXPECT_THROW(build_id_list_messages(ctx, {std::string(2000, 'x')}, 1000), Error);
  auto one = build_id_list_messages(ctx, {"a", "b"}, 1'000'000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(one[0].payload)["parts"], 1);
}

TEST(Message, IdListBuilderHandsOverEachPartAsSoonAsItIsFull) {
  auto ctx = context();
  std::vector<std::pair<int, std::string>> parts;
  IdListBuilder builder(ctx, 2048, [&](OutboundMessage part, int number) {
    parts.emplace_back(number, std::move(part.payload));
  });
  int added = 0;
  while (parts.empty()) builder.add("ref-" + std::to_string(added++));
  // The first part was handed over while ids were still coming: one part in memory at a time.
  EXPECT_EQ(parts[0].first, 1);
  EXPECT_LE(parts[0].second.size(), 2048u);
  EXPECT_NE(parts[0].second.find(kPartsPlaceholder), std::string::npos);
  for (int i = 0; i < 200; ++i) builder.add("ref-" + std::to_string(added++));
  const int count = builder.finish();
  ASSERT_EQ(count, static_cast<int>(parts.size()));
  std::int64_t ids = 0;
  for (auto& [number, payload] : parts) {
    fill_parts(payload, count);
    EXPECT_LE(payload.size(), 2048u);
    auto j = nlohmann::json::parse(payload);
    EXPECT_EQ(j["part"], number);
    EXPECT_EQ(j["parts"], count);
    EXPECT_EQ(j["rowCount"], j["refIds"].size());
    ids += static_cast<std::int64_t>(j["refIds"].size());
  }
  EXPECT_EQ(ids, added);
  EXPECT_EQ(builder.count(), added);
}

TEST(Message, FillingThePartCountLeavesIdsThatLookLikeItAlone) {
  auto ctx = context();
  const std::vector<std::string> ids = {"\"parts\":0,", "a\"parts\":0,b"};
  auto msgs = build_id_list_messages(ctx, ids, 1'000'000);
  ASSERT_EQ(msgs.size(), 1u);
  auto j = nlohmann::json::parse(msgs[0].payload);
  EXPECT_EQ(j["parts"], 1);
  EXPECT_EQ(j["refIds"][0], ids[0]);
  EXPECT_EQ(j["refIds"][1], ids[1]);
  std::string no_placeholder = "{}";
  EXPECT_THROW(fill_parts(no_placeholder, 1), Error);
}

}  // namespace
}  // namespace user_export
