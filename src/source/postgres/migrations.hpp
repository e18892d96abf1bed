#pragma once

#include "source/postgres/pg_connection.hpp"

namespace user_export::pg {

/// The newest schema version this build knows.
int latest_schema_version();

/// Applies every migration newer than the recorded version, each recorded in `schema_version`,
/// all in one transaction under a database-wide advisory lock: safe to run twice and from two
/// processes at once (the second waits, then finds nothing to do). Throws Error(kDatabase).
void apply_migrations(Connection& connection);

/// The recorded schema version; 0 when the database was never migrated.
int current_schema_version(Connection& connection);

}  // namespace user_export::pg
