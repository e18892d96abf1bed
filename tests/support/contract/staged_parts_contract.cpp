// The staged-part part of the Repository contract: id-list parts stored while a run streams are
// never deliverable on their own; only the commit of the attempt that stored them moves them
// into the outbox, with the part count filled in (docs/ARCHITECTURE.md, "Id-list parts").
#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int staged_parts_contract_anchor() {
  return 0;
}

namespace {

/// An id-list part as the exporter writes it: its count still the placeholder.
std::string part_payload(int number) {
  return "{\"part\":" + std::to_string(number) + ",\"parts\":0,\"refIds\":[\"r" +
         std::to_string(number) + "\"]}";
}

}  // namespace

TEST_P(RepositoryContract, StagedPartsAreDeliveredOnlyByTheirCommitWithTheCountFilledIn) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  const auto u1 = add_user(group);
  const auto u2 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  for (int n = 1; n <= 3; ++n) {
    repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, n,
                      message(run.run_id, part_payload(n)));
  }
  // Stored, but nothing a relay could see or send.
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 3);
  EXPECT_EQ(repo_->pending_count(), 0);
  EXPECT_TRUE(repo_->pending_messages(10).empty());
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay"), seconds{60}).empty());
  EXPECT_FALSE(is_sent(u1));

  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = OwnerId("a");
  request.attempt = run.attempts;
  request.staged_parts = 3;
  repo_->commit(request);

  EXPECT_TRUE(is_sent(u1));
  EXPECT_TRUE(is_sent(u2));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCommitted);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 0);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 3u);
  for (int n = 1; n <= 3; ++n) {
    const OutboundMessage& m = pending[static_cast<std::size_t>(n - 1)];
    EXPECT_EQ(m.payload, "{\"part\":" + std::to_string(n) + ",\"parts\":3,\"refIds\":[\"r" +
                             std::to_string(n) + "\"]}");
    EXPECT_EQ(m.key, "key-" + part_payload(n));
    EXPECT_EQ(m.headers, message(run.run_id, "").headers);
    EXPECT_EQ(m.run_id, run.run_id);
  }
}

// The commit fills the count with the database's replace(): an id that spells the placeholder
// is escaped inside its JSON string, so it is left as it was.
TEST_P(RepositoryContract, TheCommitFillsOnlyThePartCountNotAnIdThatLooksLikeIt) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  const std::string ids = R"(["\"parts\":0,","a\"parts\":0,b"])";
  repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, 1,
                    message(run.run_id, R"({"part":1,"parts":0,"refIds":)" + ids + "}"));
  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = OwnerId("a");
  request.attempt = run.attempts;
  request.staged_parts = 1;
  repo_->commit(request);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].payload, R"({"part":1,"parts":1,"refIds":)" + ids + "}");
}

TEST_P(RepositoryContract, APartOfAStaleAttemptIsRefusedAndNeverDelivered) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  const auto u1 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 1,
                    message(first.run_id, part_payload(1)));
  repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 2,
                    message(first.run_id, part_payload(2)));
  const ExportRun second = repo_->claim(claim_request(group, slot1_, "a"));  // a takeover
  ASSERT_EQ(second.attempts, first.attempts + 1);

  // The stalled first attempt wakes up: its next part is refused.
  EXPECT_EQ(error_code_of([&] {
              repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 3,
                                message(first.run_id, part_payload(3)));
            }),
            ErrorCode::kLeaseLost);
  repo_->stage_part(second.run_id, OwnerId("a"), second.attempts, 1,
                    message(second.run_id, "{\"parts\":0,\"second\":1}"));
  CommitRequest request;
  request.run_id = second.run_id;
  request.owner = OwnerId("a");
  request.attempt = second.attempts;
  request.staged_parts = 1;
  repo_->commit(request);

  EXPECT_TRUE(is_sent(u1));
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].payload, "{\"parts\":1,\"second\":1}");
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 0);  // the stale ones too
  // After the commit no attempt can stage a part of the run.
  EXPECT_EQ(error_code_of([&] {
              repo_->stage_part(second.run_id, OwnerId("a"), second.attempts, 2,
                                message(second.run_id, part_payload(2)));
            }),
            ErrorCode::kLeaseLost);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 0);
}

// A writer paused past its lease, then resumed: its part is refused even before anyone took
// the run over, and after another instance has, that instance's commit delivers only its own.
TEST_P(RepositoryContract, APartStagedAfterTheLeaseRanOutIsRefused) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  const auto u1 = add_user(group);
  const ExportRun first = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 1,
                    message(first.run_id, part_payload(1)));
  clock_.advance(seconds{301});  // the pause outlasts the 300 s lease
  EXPECT_EQ(error_code_of([&] {
              repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 2,
                                message(first.run_id, part_payload(2)));
            }),
            ErrorCode::kLeaseLost);
  const ExportRun second = repo_->claim(claim_request(group, slot1_, "b"));
  ASSERT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(error_code_of([&] {
              repo_->stage_part(first.run_id, OwnerId("a"), first.attempts, 2,
                                message(first.run_id, part_payload(2)));
            }),
            ErrorCode::kLeaseLost);
  repo_->stage_part(second.run_id, OwnerId("b"), second.attempts, 1,
                    message(second.run_id, "{\"parts\":0,\"b\":1}"));
  CommitRequest request;
  request.run_id = second.run_id;
  request.owner = OwnerId("b");
  request.attempt = second.attempts;
  request.staged_parts = 1;
  repo_->commit(request);
  EXPECT_TRUE(is_sent(u1));
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].payload, "{\"parts\":1,\"b\":1}");
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 0);
}

TEST_P(RepositoryContract, ACommitMissingAStagedPartChangesNothing) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, 1,
                    message(run.run_id, part_payload(1)));
  CommitRequest request;
  request.run_id = run.run_id;
  request.owner = OwnerId("a");
  request.attempt = run.attempts;
  request.staged_parts = 2;
  EXPECT_EQ(error_code_of([&] { repo_->commit(request); }), ErrorCode::kInternal);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kClaimed);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 1);

  // Staging a number again replaces it; with both parts the commit goes through.
  repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, 1,
                    message(run.run_id, "{\"parts\":0,\"again\":1}"));
  repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, 2,
                    message(run.run_id, part_payload(2)));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 2);
  repo_->commit(request);
  const auto pending = repo_->pending_messages(10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].payload, "{\"parts\":2,\"again\":1}");
}

TEST_P(RepositoryContract, ARecordedFailureRemovesTheAttemptsStagedParts) {
  const std::string group = add_group(domain_, "NON_COST_BASED");
  const auto u1 = add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  repo_->stage_part(run.run_id, OwnerId("a"), run.attempts, 1,
                    message(run.run_id, part_payload(1)));
  repo_->record_failure(run.run_id, OwnerId("a"), run.attempts, "the stream broke");
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox_staged"), 0);
  EXPECT_FALSE(is_sent(u1));
  EXPECT_EQ(repo_->pending_count(), 0);
}

}  // namespace user_export::testing
