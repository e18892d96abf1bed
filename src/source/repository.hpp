#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "source/group_catalogue.hpp"
#include "source/outbox.hpp"
#include "source/row_handler.hpp"
#include "source/run_history.hpp"
#include "source/run_store.hpp"
#include "source/seeding.hpp"

namespace user_export {

/// The source fields a CSV column may name (the reference schema's users and profiles joined):
/// id, ref_id, username, email, phone, group_id, created_at, display_name, gender,
/// date_of_birth, city, bio, interests. Values are the database's text forms; timestamps as
/// `YYYY-MM-DD HH:MM:SS`, dates as `YYYY-MM-DD`.
const std::vector<std::string>& known_source_fields();

/// The database: the spec's UserRepository and MatchingGroupRepository plus the exporter's own
/// tables (runs, claimed items, outbox), as the roles its callers use: GroupCatalogue,
/// RunStore, Outbox, RunHistory and Seeding. A caller that needs one role takes that role.
/// Implementations (SQLite, PostgreSQL) are thread-safe: every method may be called
/// concurrently from worker threads. Every failure is an `Error(kDatabase)`, retriable when
/// the connection or a lock timed out.
class Repository : public GroupCatalogue,
                   public RunStore,
                   public Outbox,
                   public RunHistory,
                   public Seeding {
 public:
  ~Repository() override = default;

  /// Applies pending versioned migrations (reference schema and the exporter's tables).
  /// Safe to run twice and from two processes at once.
  virtual void migrate() = 0;
  /// The current schema version (0 before any migration).
  virtual int schema_version() = 0;
};

/// How a command uses the database.
enum class RepositoryAccess {
  kReadWrite,
  /// Reads only (`plan`, `verify`): nothing is created, and an SQLite file is left byte for
  /// byte as it was (SqliteOptions::read_only).
  kReadOnly,
};

/// Opens the backend named by `url` (`sqlite:///abs/path.db` or `postgresql://…`).
/// Throws Error(kConfig) for an unknown scheme, Error(kDatabase) when it cannot connect.
std::unique_ptr<Repository> open_repository(const std::string& url, Clock& clock,
                                            RepositoryAccess access = RepositoryAccess::kReadWrite);

struct DatabaseConfig;
/// `config.url` with `pool_size` and `connect_timeout` (whole seconds) added to the query of a
/// PostgreSQL URL that does not set them; other URLs unchanged.
std::string effective_database_url(const DatabaseConfig& config);
/// Opens effective_database_url(config), applying `pool_size` and `connect_timeout_ms` to
/// PostgreSQL URLs that do not set them in their query string.
std::unique_ptr<Repository> open_repository(const DatabaseConfig& config, Clock& clock,
                                            RepositoryAccess access = RepositoryAccess::kReadWrite);

}  // namespace user_export
