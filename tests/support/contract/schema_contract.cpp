// The schema and groups part of the Repository contract: migrations, and which groups a
// repository reports.
#include <atomic>
#include <thread>

#include "support/contract/repository_contract.hpp"

namespace user_export::testing {

int schema_contract_anchor() {
  return 0;
}

// ---- schema ----

TEST_P(RepositoryContract, SchemaVersionIsZeroBeforeMigrateAndStableAfterSecondMigrate) {
  auto fresh = GetParam().make();
  auto repo = fresh->open(clock_);
  EXPECT_EQ(repo->schema_version(), 0);
  repo->migrate();
  const int version = repo->schema_version();
  EXPECT_GT(version, 0);
  repo->migrate();
  EXPECT_EQ(repo->schema_version(), version);
  EXPECT_EQ(count("SELECT count(*) FROM schema_version"), version);
}

TEST_P(RepositoryContract, TwoRepositoriesMigratingAtOnceBothSucceed) {
  auto fresh = GetParam().make();
  std::vector<std::unique_ptr<Repository>> repos;
  for (int i = 0; i < 3; ++i) repos.push_back(fresh->open(clock_));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto& repo : repos) {
    threads.emplace_back([&repo, &failures] {
      try {
        repo->migrate();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "concurrent migrate failed: " << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(repos[0]->schema_version(), repo_->schema_version());
  EXPECT_EQ(std::stoll(*fresh->query_one("SELECT count(*) FROM schema_version")),
            repo_->schema_version());
}

// ---- groups ----

TEST_P(RepositoryContract, ActiveGroupsFiltersByDomainAndActiveAndKeepsUnknownTypes) {
  const std::string other_domain = uuid(1, 2);
  const std::string cost = add_group(domain_, "COST_BASED");
  const std::string inactive = add_group(domain_, "COST_BASED", false);
  const std::string odd = add_group(domain_, "PREMIUM_TIER");
  const std::string non_cost = add_group(domain_, "NON_COST_BASED");
  add_group(other_domain, "COST_BASED");

  const auto groups = repo_->active_groups(DomainId::parse(domain_));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].id.str(), cost);  // ids ascend with creation in this fixture
  EXPECT_EQ(groups[1].id.str(), odd);
  EXPECT_EQ(groups[1].type_name, "PREMIUM_TIER");
  EXPECT_THROW(groups[1].type(), Error);
  EXPECT_EQ(groups[2].id.str(), non_cost);
  EXPECT_EQ(groups[2].type(), GroupType::kNonCostBased);
  for (const auto& g : groups) {
    EXPECT_EQ(g.domain_id.str(), domain_);
    EXPECT_TRUE(g.active);
    EXPECT_NE(g.id.str(), inactive);
  }
  EXPECT_TRUE(repo_->active_groups(DomainId::parse(uuid(1, 99))).empty());
}

TEST_P(RepositoryContract, FindGroupReturnsInactiveGroupsAndNulloptForUnknownIds) {
  const std::string inactive = add_group(domain_, "NON_COST_BASED", false);
  auto found = repo_->find_group(GroupId::parse(inactive));
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->active);
  EXPECT_EQ(found->type_name, "NON_COST_BASED");
  EXPECT_EQ(found->name, "group " + inactive);
  EXPECT_FALSE(repo_->find_group(GroupId::parse(uuid(2, 999))));
}

}  // namespace user_export::testing
