#pragma once

#include <string>

#include "domain/run.hpp"
#include "source/sqlite/sqlite_connection.hpp"

// Conversions between export_runs rows and ExportRun, shared by the SqliteRepository's files.
namespace user_export::sqlite {

/// `SELECT <the columns read_run() expects> FROM export_runs <where_and_order>`.
std::string select_runs(const char* where_and_order);

/// One row of select_runs(); Error(kDatabase) for a state it does not know.
ExportRun read_run(const Statement& row);

}  // namespace user_export::sqlite
