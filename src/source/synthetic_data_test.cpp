#include "source/synthetic_data.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "common/error.hpp"
#include "common/uuid.hpp"

namespace user_export {
namespace {

SeedPlan plan_of(std::int64_t users, int groups, std::uint64_t seed = 1) {
  SeedPlan plan;
  plan.domain_id = DomainId::parse("a0000001-0000-4000-8000-000000000001");
  plan.users = users;
  plan.groups = groups;
  plan.random_seed = seed;
  return plan;
}

std::vector<std::optional<std::string>> values_of(const SyntheticUser& u) {
  auto opt = [](const SyntheticText& t) {
    return t.null ? std::nullopt : std::optional<std::string>(t.value);
  };
  std::vector<std::optional<std::string>> out = {u.ref_id,
                                                 u.username,
                                                 opt(u.email),
                                                 opt(u.phone),
                                                 std::to_string(u.group_index),
                                                 u.created_at,
                                                 u.has_profile ? "p" : "-"};
  if (u.has_profile) {
    for (const auto* t :
         {&u.display_name, &u.gender, &u.date_of_birth, &u.city, &u.bio, &u.interests}) {
      out.push_back(opt(*t));
    }
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// `YYYY-MM-DD` that names a real calendar day.
bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(s[i])) return false;
  }
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m},
                                     std::chrono::day{d}}
      .ok();
}

TEST(SyntheticData, GroupsAlternateCostTypesWithDistinctValidIds) {
  const SyntheticData data(plan_of(10, 5));
  ASSERT_EQ(data.groups().size(), 5u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& g = data.groups()[i];
    EXPECT_EQ(g.group_type, i % 2 == 0 ? "COST_BASED" : "NON_COST_BASED");
    EXPECT_TRUE(g.active);
    EXPECT_EQ(g.domain_id.str(), "a0000001-0000-4000-8000-000000000001");
    EXPECT_FALSE(g.name.empty());
    EXPECT_EQ(g.created_at.size(), 19u);
    ids.insert(g.id.str());
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST(SyntheticData, SamePlanGivesSameDataAndAnotherSeedDifferentData) {
  const SyntheticData a(plan_of(100, 3, 9));
  const SyntheticData b(plan_of(100, 3, 9));
  const SyntheticData c(plan_of(100, 3, 10));
  EXPECT_EQ(a.groups()[0].id, b.groups()[0].id);
  EXPECT_NE(a.groups()[0].id, c.groups()[0].id);
  SyntheticUser ua, ub, uc;
  for (std::int64_t i = 0; i < 100; ++i) {
    a.fill_user(i, ua);
    b.fill_user(i, ub);
    c.fill_user(i, uc);
    EXPECT_EQ(values_of(ua), values_of(ub)) << i;
    EXPECT_NE(ua.ref_id, uc.ref_id) << i;
  }
}

TEST(SyntheticData, ReusedBuffersGiveTheSameValuesAsFreshOnes) {
  const SyntheticData data(plan_of(5000, 4));
  SyntheticUser reused;
  for (std::int64_t i = 0; i < 5000; ++i) {
    SyntheticUser fresh;
    data.fill_user(i, reused);
    data.fill_user(i, fresh);
    ASSERT_EQ(values_of(reused), values_of(fresh)) << i;
  }
}

TEST(SyntheticData, UsersAreSpreadEvenlyWithUniqueRefIdsAndUsernames) {
  const SyntheticData data(plan_of(30'000, 3));
  std::set<std::string> refs, names;
  std::vector<int> per_group(3);
  SyntheticUser u;
  for (std::int64_t i = 0; i < data.user_count(); ++i) {
    data.fill_user(i, u);
    ++per_group[u.group_index];
    refs.insert(u.ref_id);
    names.insert(u.username);
    auto parsed = Uuid::parse(u.ref_id);
    ASSERT_TRUE(parsed) << u.ref_id;
    EXPECT_EQ(parsed->str(), u.ref_id);
    EXPECT_EQ(u.ref_id[14], '7') << u.ref_id;  // time-ordered
    EXPECT_NE(std::string("89ab").find(u.ref_id[19]), std::string::npos) << u.ref_id;
  }
  EXPECT_EQ(per_group, (std::vector<int>{10'000, 10'000, 10'000}));
  EXPECT_EQ(refs.size(), 30'000u);
  EXPECT_EQ(names.size(), 30'000u);
}

TEST(SyntheticData, ValuesAreWellFormed) {
  const SyntheticData data(plan_of(20'000, 2));
  SyntheticUser u;
  std::string previous_ref, previous_created;
  for (std::int64_t i = 0; i < data.user_count(); ++i) {
    data.fill_user(i, u);
    // Sign-ups and their time-ordered ref ids increase with the index, as in a real table.
    EXPECT_GT(u.ref_id, previous_ref);
    EXPECT_GE(u.created_at, previous_created);
    previous_ref = u.ref_id;
    previous_created = u.created_at;
    if (!u.phone.null) {
      const std::string& p = u.phone.value;
      ASSERT_GE(p.size(), 3u);
      ASSERT_LE(p.size(), 16u) << p;  // E.164: at most 15 digits
      EXPECT_EQ(p[0], '+');
      EXPECT_NE(p[1], '0') << p;
      for (std::size_t k = 1; k < p.size(); ++k) ASSERT_TRUE(is_digit(p[k])) << p;
    }
    if (!u.email.null) {
      EXPECT_NE(u.email.value.find('@'), std::string::npos) << u.email.value;
    }
    ASSERT_EQ(u.created_at.size(), 19u);
    EXPECT_TRUE(valid_date(std::string_view(u.created_at).substr(0, 10))) << u.created_at;
    EXPECT_EQ(u.created_at[10], ' ');
    EXPECT_GE(u.created_at.substr(0, 4), "2020");
    EXPECT_LE(u.created_at.substr(0, 4), "2024");
    if (u.has_profile && !u.date_of_birth.null) {
      EXPECT_TRUE(valid_date(u.date_of_birth.value)) << u.date_of_birth.value;
      EXPECT_GE(u.date_of_birth.value, "1950-01-01");
      EXPECT_LE(u.date_of_birth.value, "2006-12-31");
    }
  }
}

TEST(SyntheticData, AShareOfValuesIsHostileButLegal) {
  const SyntheticData data(plan_of(10'000, 2));
  std::set<std::string> seen;
  int without_profile = 0;
  SyntheticUser u;
  for (std::int64_t i = 0; i < data.user_count(); ++i) {
    data.fill_user(i, u);
    if (!u.has_profile) {
      ++without_profile;
      continue;
    }
    if (u.email.null) seen.insert("null email");
    if (!u.email.null && u.email.value.front() == '"') seen.insert("quoted email");
    for (const auto* t :
         {&u.display_name, &u.gender, &u.date_of_birth, &u.city, &u.bio, &u.interests}) {
      if (t->null) {
        seen.insert("null");
        continue;
      }
      const std::string& v = t->value;
      if (v.empty()) seen.insert("empty");
      if (v.find('\n') != std::string::npos && v.find('\r') == std::string::npos) {
        seen.insert("lf");
      }
      if (v.find("\r\n") != std::string::npos) seen.insert("crlf");
      if (v.find('\t') != std::string::npos) seen.insert("tab");
      if (v.find('"') != std::string::npos) seen.insert("quote");
      if (v.find(',') != std::string::npos) seen.insert("comma");
      if (!v.empty() && v[0] == '=') seen.insert("formula");
      if (v.find("São Paulo") != std::string::npos) seen.insert("são paulo");
      if (v.find("東京") != std::string::npos) seen.insert("tokyo");
      if (v.find("🚀") != std::string::npos) seen.insert("emoji");
      if (v.find("Zoë") != std::string::npos) seen.insert("zoë");
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"null email", "quoted email", "null", "empty", "lf",
                                         "crlf", "tab", "quote", "comma", "formula", "são paulo",
                                         "tokyo", "emoji", "zoë"}));
  EXPECT_GT(without_profile, 500);  // about 8 %
  EXPECT_LT(without_profile, 1100);
}

TEST(SyntheticData, BadPlansAreInvalidInput) {
  for (auto plan : {plan_of(-1, 2), plan_of(10, 0), plan_of(10, -3)}) {
    try {
      SyntheticData data(plan);
      ADD_FAILURE() << "plan accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    }
  }
  EXPECT_EQ(SyntheticData(plan_of(0, 1)).user_count(), 0);
}

}  // namespace
}  // namespace user_export
