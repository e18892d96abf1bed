#include "support/postgres/pg_fixtures.hpp"

#include <cstdio>

namespace user_export::testing {

using pg::Connection;
using pg::Result;

std::string test_uuid(int kind, std::uint64_t n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-0000-4000-8000-%012llx", 0x10000000u + kind,
                static_cast<unsigned long long>(n));
  return buffer;
}

std::string add_group(Connection& c, const std::string& domain, std::uint64_t n,
                      const std::string& type) {
  std::string id = test_uuid(2, n);
  c.exec("INSERT INTO matching_groups (id, domain_id, name, group_type) VALUES ($1, $2, $3, $4)",
         {id, domain, "group " + std::to_string(n), type});
  return id;
}

std::int64_t add_user(Connection& c, const std::string& group, bool profile) {
  Result r = c.exec(
      "INSERT INTO users (ref_id, username, group_id, created_at) "
      "VALUES (gen_random_uuid(), 'user-' || md5(random()::text), $1, '2024-05-06 07:08:09') "
      "RETURNING id",
      {group});
  std::int64_t id = r.int64(0, 0);
  if (profile) {
    c.exec("INSERT INTO profiles (user_id, display_name, city) VALUES ($1, 'name', 'city')",
           {std::to_string(id)});
  }
  return id;
}

void add_users(Connection& c, const std::string& group, int count, int bio_bytes) {
  c.exec(
      "WITH new_users AS ("
      " INSERT INTO users (ref_id, username, email, group_id, created_at)"
      " SELECT gen_random_uuid(), 'bulk-' || g || '-' || md5(random()::text), 'u' || g || "
      "'@example.com', $1, timestamp '2023-01-01' + g * interval '1 minute'"
      " FROM generate_series(1, $2::int) g RETURNING id)"
      " INSERT INTO profiles (user_id, display_name, bio)"
      " SELECT id, 'bulk ' || id, repeat('b', $3::int) FROM new_users",
      {group, std::to_string(count), std::to_string(bio_bytes)});
}

void CollectingHandler::on_row(RowView row) {
  std::vector<std::optional<std::string>> copy;
  copy.reserve(row.size());
  for (const auto& value : row) {
    copy.push_back(value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
  }
  rows.push_back(std::move(copy));
}

ClaimRequest claim_request(const std::string& domain, const std::string& group, Slot slot,
                           const std::string& owner, std::uint64_t run) {
  ClaimRequest request;
  request.group_id = GroupId::parse(group);
  request.domain_id = DomainId::parse(domain);
  request.slot = slot;
  request.owner = OwnerId(owner);
  request.lease = std::chrono::seconds{300};
  request.new_run_id = RunId(test_uuid(4, run));
  return request;
}

}  // namespace user_export::testing
