#include "common/error.hpp"
#include "source/sqlite/sqlite_repository.hpp"
#include "source/synthetic_data.hpp"

namespace user_export {

using sqlite::Connection;

namespace {

/// Rows between two progress reports.
constexpr std::int64_t kProgressEvery = 50'000;

/// Puts the connection into bulk-load mode for its lifetime: no fsync (the load is one
/// transaction; a crash just loses it), a 64 MiB page cache, and no foreign-key lookups (each
/// profile references the user inserted just before it). Restores the normal settings and
/// shrinks the WAL afterwards. Pragmas take effect only outside a transaction, so this wraps
/// the load's transaction.
class BulkLoadMode {
 public:
  explicit BulkLoadMode(Connection& conn) : conn_(conn) {
    conn_.exec("PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-65536",
               "enter bulk-load mode");
  }
  ~BulkLoadMode() {
    try {
      conn_.exec(
          "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024; "
          "PRAGMA wal_checkpoint(TRUNCATE)",
          "leave bulk-load mode");
    } catch (const Error&) {
      // A checkpoint blocked by a reader is harmless; the next one will shrink the WAL.
    }
  }
  BulkLoadMode(const BulkLoadMode&) = delete;
  BulkLoadMode& operator=(const BulkLoadMode&) = delete;

 private:
  Connection& conn_;
};

}  // namespace

void SqliteRepository::seed(const SeedPlan& plan, const ProgressFn& progress) {
  const SyntheticData data(plan);
  const auto& groups = data.groups();
  std::vector<std::string> group_ids;
  group_ids.reserve(groups.size());
  for (const auto& group : groups) group_ids.push_back(group.id.str());

  auto conn = pool_.acquire();
  BulkLoadMode bulk(*conn);
  sqlite::write_transaction(
      *conn, "seed synthetic data",
      [&](Connection& c) {
        auto exists =
            c.prepare("SELECT 1 FROM matching_groups WHERE id = ?1", "look for an earlier seed");
        exists.bind(1, group_ids.front());
        if (exists.step()) {
          throw Error(ErrorCode::kInvalidInput,
                      "the database already holds the data of random seed " +
                          std::to_string(plan.random_seed) + " (group " + group_ids.front() +
                          "); seed with another --seed or into a fresh database");
        }

        auto group_insert = c.prepare(
            "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            "insert a synthetic group");
        for (std::size_t i = 0; i < groups.size(); ++i) {
          group_insert.bind(1, std::string_view(group_ids[i]))
              .bind(2, groups[i].domain_id.str())
              .bind(3, std::string_view(groups[i].name))
              .bind(4, std::string_view(groups[i].group_type))
              .bind(5, std::int64_t{groups[i].active ? 1 : 0})
              .bind(6, std::string_view(groups[i].created_at));
          group_insert.run();
          group_insert.reset();
        }

        auto user_insert = c.prepare(
            "INSERT INTO users (ref_id, username, email, phone, group_id, "
            "sent_to_matching_service, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            "insert a synthetic user");
        auto profile_insert = c.prepare(
            "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
            "interests) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            "insert a synthetic profile");
        SyntheticUser user;
        const std::int64_t total = data.user_count();
        for (std::int64_t i = 0; i < total; ++i) {
          data.fill_user(i, user);
          // bind_static: the buffers of `user` stay unchanged until the next fill_user.
          user_insert.bind_static(1, user.ref_id)
              .bind_static(2, user.username)
              .bind_static(3, user.email.view())
              .bind_static(4, user.phone.view())
              .bind_static(5, group_ids[user.group_index])
              .bind_static(6, user.created_at);
          user_insert.run();
          user_insert.reset();
          if (user.has_profile) {
            profile_insert.bind(1, c.last_insert_rowid())
                .bind_static(2, user.display_name.view())
                .bind_static(3, user.gender.view())
                .bind_static(4, user.date_of_birth.view())
                .bind_static(5, user.city.view())
                .bind_static(6, user.bio.view())
                .bind_static(7, user.interests.view());
            profile_insert.run();
            profile_insert.reset();
          }
          if (progress && (i + 1) % kProgressEvery == 0) progress(i + 1, total);
        }
        if (progress && (total == 0 || total % kProgressEvery != 0)) progress(total, total);
      },
      /*attempts=*/1);
}

}  // namespace user_export
