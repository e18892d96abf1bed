#pragma once

#include <span>

namespace user_export::sqlite {

/// One versioned schema change, applied at most once and recorded in `schema_version`.
struct Migration {
  int version;              ///< strictly increasing from 1
  const char* description;  ///< what it creates, for logs and error messages
  const char* sql;          ///< one or more statements, run inside the migration transaction
};

/// Every migration of the SQLite schema, in version order (see docs/SCHEMA.md).
std::span<const Migration> migrations();

}  // namespace user_export::sqlite
