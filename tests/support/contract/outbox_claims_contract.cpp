// The outbox-claims part of the Repository contract: several relays sharing one outbox.
#include <algorithm>
#include <map>
#include <thread>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

using std::chrono::seconds;

int outbox_claims_contract_anchor() {
  return 0;
}

// ---- outbox claims (several relays sharing one outbox) ----

namespace {

/// The payloads of `messages`, in order.
std::vector<std::string> payloads_of(const std::vector<OutboundMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.payload);
  return out;
}

}  // namespace

TEST_P(RepositoryContract, ClaimMessagesGivesEachMessageToOneOwnerOldestFirstWithinTheLimit) {
  const ExportRun ra = committed_run({"m1", "m2", "m3"});
  committed_run({"m4", "m5"});

  const auto a = repo_->claim_messages(2, OwnerId("relay-a"), seconds{60});
  EXPECT_EQ(payloads_of(a), (std::vector<std::string>{"m1", "m2"}));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_LT(a[0].outbox_id, a[1].outbox_id);
  EXPECT_EQ(a[0].run_id, ra.run_id);
  EXPECT_EQ(a[0].topic, "flairbit-users");
  EXPECT_EQ(a[0].key, "key-m1");
  EXPECT_EQ(a[0].headers, message(ra.run_id, "m1").headers);
  EXPECT_EQ(a[0].attempts, 0);

  const auto b = repo_->claim_messages(10, OwnerId("relay-b"), seconds{60});
  EXPECT_EQ(payloads_of(b), (std::vector<std::string>{"m3", "m4", "m5"}));
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}).empty());
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-c"), seconds{60}).empty());
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-a'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-b'"), 3);

  // Claims do not change what is pending; the listing still shows every due message.
  EXPECT_EQ(repo_->pending_count(), 5);
  EXPECT_EQ(repo_->pending_messages(10).size(), 5u);
}

// A relay pass holds at most max_bytes of payloads (or one message, whatever its size): the
// claim stops before the first message that would take it past the bound, and the rest stay
// claimable in order. Payload sizes are counted in bytes, not characters.
TEST_P(RepositoryContract, ClaimMessagesStopsAtTheByteBoundButAlwaysTakesOne) {
  const std::string big(5000, 'x');
  const std::string utf8 = std::string(100, 'y') + "\xC3\xA9";  // 102 bytes, 101 characters
  committed_run({big, "m2", "m3"});
  committed_run({utf8, "m5"});

  const auto first = repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}, 100);
  EXPECT_EQ(payloads_of(first), (std::vector<std::string>{big})) << "the oldest, though too big";
  const auto second = repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}, 4);
  EXPECT_EQ(payloads_of(second), (std::vector<std::string>{"m2", "m3"})) << "2 + 2 bytes fit";
  const auto third = repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}, 103);
  EXPECT_EQ(payloads_of(third), (std::vector<std::string>{utf8})) << "102 + 2 bytes > 103";
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}, 104)),
            (std::vector<std::string>{"m5"}));
}

TEST_P(RepositoryContract, LiveClaimHidesAMessageFromEveryOwnerUntilItRunsOut) {
  committed_run({"m1", "m2"});
  ASSERT_EQ(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}).size(), 2u);

  clock_.advance(seconds{59});
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-b"), seconds{60}).empty());
  // Not even for its own owner name: two relays configured with one name must not share it.
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}).empty());

  // The claim ran out (its relay died): any relay may take the messages, for a new lease.
  clock_.advance(seconds{1});
  const auto taken = repo_->claim_messages(10, OwnerId("relay-b"), seconds{30});
  EXPECT_EQ(payloads_of(taken), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'relay-b'"), 2);
  clock_.advance(seconds{29});
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}).empty());
  clock_.advance(seconds{1});
  EXPECT_EQ(repo_->claim_messages(10, OwnerId("relay-a"), seconds{60}).size(), 2u);
}

TEST_P(RepositoryContract, PublishAndDeadLetterEndTheClaimAndAFailureReleasesIt) {
  const ExportRun run = committed_run({"m1", "m2", "m3"});
  const auto claimed = repo_->claim_messages(10, OwnerId("relay-a"), seconds{300});
  ASSERT_EQ(claimed.size(), 3u);

  repo_->mark_published(claimed[0].outbox_id);
  repo_->mark_dead_lettered(claimed[1].outbox_id, "message too large");
  repo_->record_publish_failure(claimed[2].outbox_id, "broker timeout", clock_.now() + seconds{10});
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NOT NULL OR "
                  "claim_expires_at IS NOT NULL"),
            0);

  // The failed message is due again at its next attempt, for any relay, long before the
  // released claim would have run out; the finished ones never come back.
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-b"), seconds{300}).empty());
  clock_.advance(seconds{10});
  const auto retried = repo_->claim_messages(10, OwnerId("relay-b"), seconds{300});
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].payload, "m3");
  EXPECT_EQ(retried[0].attempts, 1);
  clock_.advance(seconds{600});
  repo_->mark_all_published(std::vector<std::int64_t>{retried[0].outbox_id});
  EXPECT_TRUE(repo_->claim_messages(10, OwnerId("relay-c"), seconds{300}).empty());
  EXPECT_EQ(repo_->find_run(run.run_id)->state, RunState::kCompleted);
}

TEST_P(RepositoryContract, ClaimMessagesTakesOnlyDueMessagesAndChecksItsArguments) {
  committed_run({"m1", "m2"});
  const auto first = repo_->pending_messages(10).at(0);
  repo_->record_publish_failure(first.outbox_id, "broker timeout", clock_.now() + seconds{60});

  EXPECT_TRUE(repo_->claim_messages(0, OwnerId("relay-a"), seconds{60}).empty());
  EXPECT_EQ(error_code_of([&] { repo_->claim_messages(10, OwnerId(""), seconds{60}); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(error_code_of([&] { repo_->claim_messages(10, OwnerId("relay-a"), seconds{0}); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NOT NULL"), 0);

  EXPECT_EQ(payloads_of(repo_->claim_messages(10, OwnerId("relay-a"), seconds{120})),
            std::vector<std::string>{"m2"});
  clock_.advance(seconds{60});
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, OwnerId("relay-b"), seconds{60})),
            std::vector<std::string>{"m1"});
}

TEST_P(RepositoryContract, ReleaseMessageClaimsFreesOnlyWhatDeadOwnersHold) {
  committed_run({"m1", "m2", "m3", "m4"});
  ASSERT_EQ(repo_->claim_messages(2, OwnerId("host:101"), seconds{60}).size(), 2u);
  ASSERT_EQ(repo_->claim_messages(1, OwnerId("host:202"), seconds{60}).size(), 1u);
  const auto failed = repo_->claim_messages(1, OwnerId("host:303"), seconds{60});
  ASSERT_EQ(failed.size(), 1u);
  repo_->record_publish_failure(failed[0].outbox_id, "broker timeout", clock_.now());

  std::vector<std::string> asked;
  const auto dead = [&](const OwnerId& owner) {
    asked.push_back(owner.str());
    return owner == OwnerId("host:101");
  };
  EXPECT_EQ(repo_->release_message_claims(dead), 2);
  std::sort(asked.begin(), asked.end());
  EXPECT_EQ(asked, (std::vector<std::string>{"host:101", "host:202"}))
      << "only the owners of live claims are asked about";
  EXPECT_EQ(payloads_of(repo_->claim_messages(10, OwnerId("host:404"), seconds{60})),
            (std::vector<std::string>{"m1", "m2", "m4"}));
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by = 'host:202'"), 1);
  EXPECT_EQ(repo_->release_message_claims([](const OwnerId&) { return false; }), 0);

  // An expired claim needs no release: it is claimable anyway.
  clock_.advance(seconds{60});
  asked.clear();
  EXPECT_EQ(repo_->release_message_claims(dead), 0);
  EXPECT_TRUE(asked.empty());
}

TEST_P(RepositoryContract, RelaysClaimingAtOnceNeverGetTheSameMessage) {
  std::vector<std::string> payloads;
  for (int i = 0; i < 120; ++i) payloads.push_back("m" + std::to_string(i));
  committed_run(payloads);

  constexpr int kRelays = 4;
  std::vector<std::unique_ptr<Repository>> repos;
  for (int i = 0; i < kRelays; ++i) repos.push_back(db_->open(clock_));
  std::vector<std::vector<std::int64_t>> claimed(kRelays);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRelays; ++i) {
    threads.emplace_back([&, i] {
      try {
        const OwnerId owner("relay-" + std::to_string(i));
        while (true) {
          const auto batch = repos[i]->claim_messages(7, owner, seconds{60});
          if (batch.empty()) break;
          for (const auto& m : batch) claimed[i].push_back(m.outbox_id);
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "claim_messages failed: " << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();

  std::map<std::int64_t, int> times_claimed;
  for (const auto& ids : claimed) {
    for (auto id : ids) ++times_claimed[id];
  }
  EXPECT_EQ(times_claimed.size(), payloads.size()) << "every message is claimed";
  for (const auto& [id, times] : times_claimed) {
    EXPECT_EQ(times, 1) << "outbox message " << id << " was claimed by " << times << " relays";
  }
  EXPECT_EQ(count("SELECT count(*) FROM export_outbox WHERE claimed_by IS NULL"), 0);
}

}  // namespace user_export::testing
