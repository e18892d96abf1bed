#include "source/postgres/postgres_stream_sql.hpp"

#include <cstdint>
#include <string>

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

// "SELECT <fields>[, u.group_id::text] FROM users u [LEFT JOIN profiles p …]".
std::string select_from_users(const std::vector<std::string>& fields, bool with_group = false) {
  std::string sql = "SELECT ";
  bool profiles = false;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += field_expression(fields[i]);
    profiles = profiles || source_table_of(fields[i]) == SourceTable::kProfiles;
  }
  if (with_group) sql += ", u.group_id::text";
  sql += " FROM users u";
  if (profiles) sql += " LEFT JOIN profiles p ON p.user_id = u.id";
  return sql;
}

std::string quoted(const Uuid& id) {
  return "'" + id.str() + "'";
}

// The claimable users' condition: `group_match` completes "u.group_id ", `other_run` completes
// "r.run_id " so that it holds for the runs whose claims do not count.
std::string claimable_condition(const std::string& group_match, const std::string& other_run) {
  return "u.group_id " + group_match +
         " AND NOT u.sent_to_matching_service"
         " AND NOT EXISTS (SELECT 1 FROM export_runs r"
         " JOIN export_run_claims c ON c.run_id = r.run_id"
         " CROSS JOIN LATERAL unnest(c.user_ids) AS x (id)"
         " WHERE r.state = 'claimed' AND r.run_id " +
         other_run + " AND x.id = u.id)";
}

// "ARRAY['…', …]::uuid[]".
std::string uuid_array(const std::vector<Uuid>& ids) {
  std::string sql = "ARRAY[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += quoted(ids[i]);
  }
  return sql + "]::uuid[]";
}

}  // namespace

std::string claimable_users_condition(const std::string& group, const std::string& run) {
  return claimable_condition("= " + group, "<> " + run);
}

std::string snapshot_stream_copy_sql(const Uuid& run_id, const Uuid& group_id,
                                     const std::vector<std::string>& fields) {
  return "COPY (" + select_from_users(fields) + " WHERE " +
         claimable_users_condition(quoted(group_id), quoted(run_id)) + " ORDER BY u.id) TO STDOUT";
}

std::string claimable_stream_copy_sql(const Uuid& group_id,
                                      const std::vector<std::string>& fields) {
  // No run has the nil id, so every unfinished run's claim counts, as for a new claim.
  return "COPY (" + select_from_users(fields) + " WHERE " +
         claimable_users_condition(quoted(group_id), "'00000000-0000-0000-0000-000000000000'") +
         " ORDER BY u.id) TO STDOUT";
}

std::string batch_snapshot_stream_copy_sql(const std::vector<Uuid>& run_ids,
                                           const std::vector<Uuid>& group_ids,
                                           const std::vector<std::string>& fields) {
  return "COPY (" + select_from_users(fields, true) + " WHERE " +
         claimable_condition("= ANY (" + uuid_array(group_ids) + ")",
                             "<> ALL (" + uuid_array(run_ids) + ")") +
         " ORDER BY u.group_id, u.id) TO STDOUT";
}

std::string stream_copy_sql(const Uuid& run_id, std::int64_t chunk,
                            const std::vector<std::string>& fields) {
  return "COPY (" + select_from_users(fields) +
         " WHERE u.id = ANY ((SELECT user_ids FROM export_run_claims WHERE run_id = " +
         quoted(run_id) + " AND chunk = " + std::to_string(chunk) +
         ")::bigint[]) ORDER BY u.id) TO STDOUT";
}

}  // namespace user_export::pg
