// The seed part of the Repository contract: synthetic data loaded by seed().
#include <algorithm>
#include <map>
#include <set>

#include "source/synthetic_data.hpp"
#include "support/contract/repository_contract.hpp"
#include "support/contract/row_collector.hpp"

namespace user_export::testing {

int seed_contract_anchor() {
  return 0;
}

// ---- seed ----

TEST_P(RepositoryContract, SeedLoadsAlternatingGroupsEvenlyWithEveryValueRoundTripping) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse(domain_);
  plan.users = 1000;
  plan.groups = 4;
  plan.random_seed = 7;
  std::vector<std::pair<std::int64_t, std::int64_t>> progress;
  repo_->seed(plan,
              [&](std::int64_t done, std::int64_t total) { progress.emplace_back(done, total); });
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(std::int64_t{1000}, std::int64_t{1000}));

  const SyntheticData data(plan);
  const auto groups = repo_->active_groups(plan.domain_id);
  ASSERT_EQ(groups.size(), 4u);
  std::map<std::string, int> types;
  for (const auto& g : groups) {
    ++types[g.type_name];
    EXPECT_EQ(count("SELECT count(*) FROM users WHERE group_id = " + quote(g.id.str())), 250);
  }
  EXPECT_EQ(types["COST_BASED"], 2);
  EXPECT_EQ(types["NON_COST_BASED"], 2);
  for (std::size_t i = 0; i < data.groups().size(); ++i) {
    EXPECT_EQ(*db_->query_one("SELECT group_type FROM matching_groups WHERE id = " +
                              quote(data.groups()[i].id.str())),
              i % 2 == 0 ? "COST_BASED" : "NON_COST_BASED");
  }
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1000);
  const auto profiles = count("SELECT count(*) FROM profiles");
  EXPECT_GT(profiles, 800);
  EXPECT_LT(profiles, 1000);

  // Every stored value equals the generator's, byte for byte, NULLs included.
  std::map<std::string, SyntheticUser> expected;
  for (std::int64_t i = 0; i < data.user_count(); ++i) {
    SyntheticUser u;
    data.fill_user(i, u);
    expected.emplace(u.ref_id, u);
  }
  const std::vector<std::string> fields = {
      "ref_id",       "username", "email",         "phone", "group_id", "created_at",
      "display_name", "gender",   "date_of_birth", "city",  "bio",      "interests"};
  std::vector<std::string> group_ids;
  for (const auto& g : data.groups()) group_ids.push_back(g.id.str());
  std::int64_t rows = 0;
  std::set<std::string> features;
  for (const auto& g : groups) {
    const ExportRun run = repo_->claim(claim_request(g.id.str(), slot1_, "seed-check"));
    RowCollector collected;
    repo_->stream_rows(run.run_id, fields, collected);
    for (const auto& row : collected.rows) {
      ++rows;
      const auto it = expected.find(row[0].value_or(""));
      ASSERT_NE(it, expected.end());
      const SyntheticUser& u = it->second;
      const auto profile = [&](const SyntheticText& t) {
        return u.has_profile ? t.view() : std::nullopt;
      };
      const std::vector<std::optional<std::string_view>> want = {u.ref_id,
                                                                 u.username,
                                                                 u.email.view(),
                                                                 u.phone.view(),
                                                                 group_ids[u.group_index],
                                                                 u.created_at,
                                                                 profile(u.display_name),
                                                                 profile(u.gender),
                                                                 profile(u.date_of_birth),
                                                                 profile(u.city),
                                                                 profile(u.bio),
                                                                 profile(u.interests)};
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto got = row[i] ? std::optional<std::string_view>(*row[i]) : std::nullopt;
        ASSERT_EQ(got, want[i]) << fields[i] << " of " << u.ref_id;
        if (!row[i]) features.insert("null");
        if (!row[i]) continue;
        const std::string& v = *row[i];
        if (v.find('\n') != std::string::npos) features.insert("lf");
        if (v.find("\r\n") != std::string::npos) features.insert("crlf");
        if (v.find('"') != std::string::npos) features.insert("quote");
        if (v.find(',') != std::string::npos) features.insert("comma");
        if (v.find('\t') != std::string::npos) features.insert("tab");
        if (!v.empty() && v[0] == '=') features.insert("formula");
        if (std::any_of(v.begin(), v.end(), [](char c) { return (c & 0x80) != 0; })) {
          features.insert("non-ascii");
        }
      }
    }
  }
  EXPECT_EQ(rows, 1000);
  EXPECT_EQ(features, (std::set<std::string>{"null", "lf", "crlf", "quote", "comma", "tab",
                                             "formula", "non-ascii"}));
}

TEST_P(RepositoryContract, SeedRefusesBadPlansAndARepeatedSeed) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse(domain_);
  plan.users = 10;
  plan.groups = 0;
  EXPECT_EQ(error_code_of([&] { repo_->seed(plan, nullptr); }), ErrorCode::kInvalidInput);
  plan.groups = 2;
  plan.users = -1;
  EXPECT_EQ(error_code_of([&] { repo_->seed(plan, nullptr); }), ErrorCode::kInvalidInput);
  plan.users = 10;
  repo_->seed(plan, nullptr);
  EXPECT_THROW(repo_->seed(plan, nullptr), Error);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 10);
  EXPECT_EQ(count("SELECT count(*) FROM matching_groups"), 2);
}

}  // namespace user_export::testing
