// `seed` on PostgreSQL: synthetic groups, users and profiles loaded with COPY FROM STDIN.
#include "common/error.hpp"
#include "source/postgres/copy_text.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/synthetic_data.hpp"

namespace user_export {
namespace {

/// Users per pair of COPY statements (users, then their profiles, which reference them).
constexpr std::int64_t kChunk = 50'000;
/// Bytes of COPY data buffered before they are sent.
constexpr std::size_t kSendAt = 1 << 20;

/// Appends one COPY text line with `fields` to `out`.
void append_line(std::string& out, std::initializer_list<std::optional<std::string_view>> fields) {
  bool first = true;
  for (const auto& field : fields) {
    if (!first) out += '\t';
    first = false;
    pg::append_copy_value(out, field);
  }
  out += '\n';
}

/// Sends `data` (whole lines) as the body of a `COPY … FROM STDIN` in blocks.
void copy_all(pg::Connection& connection, const char* sql, std::string_view data) {
  connection.copy_begin(sql);
  for (std::size_t at = 0; at < data.size(); at += kSendAt) {
    connection.copy_put(data.substr(at, kSendAt));
  }
  connection.copy_end();
}

}  // namespace

void PostgresRepository::seed(const SeedPlan& plan, const ProgressFn& progress) {
  const SyntheticData data(plan);
  const auto& groups = data.groups();
  auto conn = pool_.acquire();
  {
    pg::Transaction tx(*conn);
    // Keeps other writers of users out while this load assigns a block of ids (readers go on).
    conn->exec("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE");
    if (conn->exec("SELECT 1 FROM matching_groups WHERE id = $1", {groups.front().id.str()})
            .rows() > 0) {
      throw Error(ErrorCode::kInvalidInput,
                  "the database already holds the data of random seed " +
                      std::to_string(plan.random_seed) + " (group " + groups.front().id.str() +
                      "); seed with another --seed or into a fresh database");
    }
    for (const SyntheticGroup& group : groups) {
      conn->exec(
          "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          {group.id.str(), group.domain_id.str(), group.name, group.group_type,
           group.active ? "true" : "false", group.created_at});
    }
    const std::int64_t base =
        conn->exec(
                "SELECT greatest(coalesce(max(id), 0), coalesce(pg_sequence_last_value("
                "pg_get_serial_sequence('users', 'id')::regclass), 0)) FROM users")
            .int64(0, 0);

    std::vector<std::string> group_ids;
    for (const SyntheticGroup& group : groups) group_ids.push_back(group.id.str());
    const std::int64_t total = data.user_count();
    SyntheticUser user;
    std::string id;
    // Profiles reference users, so each chunk's users are copied first; the chunk's lines are
    // buffered (a few MiB) so every user is generated once.
    std::string user_lines;
    std::string profile_lines;
    for (std::int64_t start = 0; start < total; start += kChunk) {
      const std::int64_t end = std::min(total, start + kChunk);
      user_lines.clear();
      profile_lines.clear();
      for (std::int64_t i = start; i < end; ++i) {
        data.fill_user(i, user);
        id = std::to_string(base + 1 + i);
        append_line(user_lines,
                    {id, user.ref_id, user.username, user.email.view(), user.phone.view(),
                     group_ids[user.group_index], "f", user.created_at});
        if (user.has_profile) {
          append_line(profile_lines,
                      {id, user.display_name.view(), user.gender.view(), user.date_of_birth.view(),
                       user.city.view(), user.bio.view(), user.interests.view()});
        }
      }
      copy_all(*conn,
               "COPY users (id, ref_id, username, email, phone, group_id, "
               "sent_to_matching_service, created_at) FROM STDIN",
               user_lines);
      copy_all(*conn,
               "COPY profiles (user_id, display_name, gender, date_of_birth, city, bio, "
               "interests) FROM STDIN",
               profile_lines);
      if (progress) progress(end, total);
    }
    if (total > 0) {
      conn->exec("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)",
                 {std::to_string(base + total)});
    }
    if (progress && total == 0) progress(0, 0);
    tx.commit();
  }
  // Fresh statistics let the first claim plan its scan of the new rows well.
  conn->exec("ANALYZE users");
  conn->exec("ANALYZE profiles");
}

}  // namespace user_export
