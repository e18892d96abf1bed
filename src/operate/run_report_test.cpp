#include "operate/run_report.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

ExportRun sample_run() {
  ExportRun run;
  run.run_id = RunId("0b7c3a52-7f7e-4d3c-9a52-4c1e2f0d9a11");
  run.group_id = GroupId::parse("8f14e45f-ceea-467f-a8b4-2b4f8f0f8a61");
  run.slot = Slot{std::chrono::seconds{1'767'225'600}};
  run.state = RunState::kCompleted;
  run.item_count = 42;
  run.rows = 42;
  run.bytes = 1234;
  run.sha256 = "ab";
  run.attempts = 2;
  run.object_key = "exports/a/b.csv.gz";
  run.created_at = SystemTime{std::chrono::seconds{1'767'225'600}};
  run.updated_at = run.created_at + std::chrono::milliseconds{1500};
  return run;
}

TEST(RunReport, ARunHasTheFieldsOfTheAdminApi) {
  const auto j = run_json(sample_run());
  EXPECT_EQ(j["runId"], "0b7c3a52-7f7e-4d3c-9a52-4c1e2f0d9a11");
  EXPECT_EQ(j["groupId"], "8f14e45f-ceea-467f-a8b4-2b4f8f0f8a61");
  EXPECT_EQ(j["slot"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(j["state"], "completed");
  EXPECT_EQ(j["users"], 42);
  EXPECT_EQ(j["rows"], 42);
  EXPECT_EQ(j["bytes"], 1234);
  EXPECT_EQ(j["sha256"], "ab");
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_EQ(j["objectKey"], "exports/a/b.csv.gz");
  EXPECT_EQ(j["createdAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 1.5);
}

TEST(RunReport, TheDetailListsTheRecordedActionsOldestFirst) {
  RunAction replay{RunId("r"),
                   RunActionKind::kReplay,
                   "cli:ops@host",
                   "lost",
                   1,
                   SystemTime{std::chrono::seconds{1'767'225'700}}};
  RunAction reexport{RunId("r"),
                     RunActionKind::kReexport,
                     "admin-api:10.0.0.7",
                     "corrupt",
                     42,
                     SystemTime{std::chrono::seconds{1'767'225'800}}};
  const auto j = run_detail_json(sample_run(), {replay, reexport}, {});
  EXPECT_TRUE(j["messages"].is_array());
  EXPECT_TRUE(j["messages"].empty());
  ASSERT_EQ(j["actions"].size(), 2u);
  EXPECT_EQ(j["actions"][0]["action"], "replay");
  EXPECT_EQ(j["actions"][0]["reason"], "lost");
  EXPECT_EQ(j["actions"][1]["action"], "reexport");
  EXPECT_EQ(j["actions"][1]["actor"], "admin-api:10.0.0.7");
  EXPECT_EQ(j["actions"][1]["count"], 42);
  EXPECT_EQ(j["actions"][1]["at"], "2026-01-01T00:03:20.000Z");
}

TEST(RunReport, AMessageShowsItsDeliveryStateHeadersAndPayload) {
  RunMessage pending;
  pending.outbox_id = 7;
  pending.seq = 1;
  pending.topic = "user-export-events";
  pending.key = "8f14e45f-ceea-467f-a8b4-2b4f8f0f8a61";
  pending.payload = R"({"fileUrl":"s3://b/k","numberOfUsers":42})";
  pending.headers = {{"runId", "r"}, {"replay", "consumer lost it"}};
  pending.state = "pending";
  pending.attempts = 3;
  pending.last_error = "broker down";
  pending.created_at = SystemTime{std::chrono::seconds{1'767'225'600}};
  RunMessage published = pending;
  published.outbox_id = 8;
  published.state = "published";
  published.payload = "not json";
  published.published_at = SystemTime{std::chrono::seconds{1'767'225'660}};

  const auto j = run_detail_json(sample_run(), {}, {pending, published});
  ASSERT_EQ(j["messages"].size(), 2u);
  const auto& m = j["messages"][0];
  EXPECT_EQ(m["outboxId"], 7);
  EXPECT_EQ(m["seq"], 1);
  EXPECT_EQ(m["topic"], "user-export-events");
  EXPECT_EQ(m["state"], "pending");
  EXPECT_EQ(m["attempts"], 3);
  EXPECT_EQ(m["lastError"], "broker down");
  EXPECT_TRUE(m["publishedAt"].is_null());
  EXPECT_EQ(m["headers"]["replay"], "consumer lost it");
  EXPECT_EQ(m["payload"]["numberOfUsers"], 42);
  EXPECT_EQ(j["messages"][1]["state"], "published");
  EXPECT_EQ(j["messages"][1]["publishedAt"], "2026-01-01T00:01:00.000Z");
  EXPECT_EQ(j["messages"][1]["payload"], "not json");  // shown as text, never dropped
}

TEST(RunReport, TheTableHasAHeaderAndOneLinePerRun) {
  const std::string table = runs_table({sample_run(), sample_run()});
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 3);
  EXPECT_NE(table.find("0b7c3a52-7f7e-4d3c-9a52-4c1e2f0d9a11"), std::string::npos);
  EXPECT_NE(table.find("completed"), std::string::npos);
}

}  // namespace
}  // namespace user_export
