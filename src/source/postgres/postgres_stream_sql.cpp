#include "source/postgres/postgres_stream_sql.hpp"

#include "source/source_fields.hpp"

namespace user_export::pg {
namespace {

// The SQL text of one field; the name was checked against the fixed list by source_table_of.
std::string field_expression(const std::string& field) {
  const char* table = source_table_of(field) == SourceTable::kUsers ? "u." : "p.";
  if (field == "created_at") return "to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS')";
  if (field == "date_of_birth") return "to_char(p.date_of_birth, 'YYYY-MM-DD')";
  if (field == "id") return "u.id";
  // uuid and text columns; the cast is a no-op for text and fixes the form of uuids.
  return std::string(table) + field + "::text";
}

}  // namespace

std::string stream_copy_sql(const Uuid& run_id, const std::vector<std::string>& fields) {
  std::string sql = "COPY (SELECT ";
  bool profiles = false;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += field_expression(fields[i]);
    profiles = profiles || source_table_of(fields[i]) == SourceTable::kProfiles;
  }
  // Ordering by the items' key follows the (run_id, user_id) primary key: the rows come in id
  // order without a sort, in constant memory whatever the run's size.
  sql += " FROM export_run_items i JOIN users u ON u.id = i.user_id";
  if (profiles) sql += " LEFT JOIN profiles p ON p.user_id = u.id";
  sql += " WHERE i.run_id = '" + run_id.str() + "' ORDER BY i.user_id) TO STDOUT";
  return sql;
}

}  // namespace user_export::pg
