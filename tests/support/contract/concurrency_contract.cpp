// The concurrency part of the Repository contract: claims from several threads at once.
#include <atomic>
#include <thread>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

int concurrency_contract_anchor() {
  return 0;
}

// ---- concurrency ----

TEST_P(RepositoryContract, ConcurrentClaimsOfDifferentGroupsFromTwoThreads) {
  constexpr int kRounds = 10;
  const std::string a = add_group(domain_);
  const std::string b = add_group(domain_);
  for (int i = 0; i < 20; ++i) {
    add_user(a);
    add_user(b);
  }
  std::vector<ClaimRequest> requests;
  for (int round = 0; round < kRounds; ++round) {
    requests.push_back(claim_request(a, slot1_ + std::chrono::hours(round), "ta"));
    requests.push_back(claim_request(b, slot1_ + std::chrono::hours(round), "tb"));
  }
  std::atomic<int> claimed_items{0};
  auto worker = [&](int offset) {
    try {
      for (int round = 0; round < kRounds; ++round) {
        const auto& request = requests[static_cast<std::size_t>(round * 2 + offset)];
        const ExportRun run = repo_->claim(request);
        claimed_items += static_cast<int>(run.item_count);
        CommitRequest commit;
        commit.run_id = run.run_id;
        commit.owner = request.owner;
        commit.attempt = run.attempts;
        repo_->commit(commit);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "worker failed: " << e.what();
    }
  };
  std::thread t1(worker, 0);
  std::thread t2(worker, 1);
  t1.join();
  t2.join();
  EXPECT_EQ(claimed_items.load(), 40);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE sent_to_matching_service"), 40);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs"), 2 * kRounds);
  EXPECT_EQ(count("SELECT count(*) FROM export_runs WHERE state = 'completed'"), 2 * kRounds);
}

TEST_P(RepositoryContract, ConcurrentClaimsOfOneGroupAdmitExactlyOneOwner) {
  for (int round = 0; round < 8; ++round) {
    const std::string group = add_group(domain_);
    for (int i = 0; i < 3; ++i) add_user(group);
    const ClaimRequest first = claim_request(group, slot1_, "one");
    const ClaimRequest second = claim_request(group, slot2_, "two");
    auto second_repo = db_->open(clock_);
    std::atomic<int> won{0};
    std::atomic<int> lost{0};
    auto attempt = [&](Repository& repo, const ClaimRequest& request) {
      try {
        repo.claim(request);
        ++won;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kLeaseLost) {
          ++lost;
        } else {
          ADD_FAILURE() << "unexpected error: " << e.what();
        }
      }
    };
    std::thread t1(attempt, std::ref(*repo_), std::cref(first));
    std::thread t2(attempt, std::ref(*second_repo), std::cref(second));
    t1.join();
    t2.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 1) << "round " << round;
    EXPECT_EQ(count("SELECT count(*) FROM export_runs WHERE group_id = " + quote(group)), 1);
    EXPECT_EQ(count("SELECT count(*) FROM export_run_items i JOIN export_runs r ON r.run_id = "
                    "i.run_id WHERE r.group_id = " +
                    quote(group)),
              3);
  }
}

}  // namespace user_export::testing
