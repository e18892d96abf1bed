#include "source/sqlite/sqlite_rows.hpp"

#include "common/error.hpp"

namespace user_export::sqlite {
namespace {

constexpr const char* kRunColumns =
    "run_id, group_id, domain_id, slot, state, item_count, attempts, lease_owner, "
    "lease_expires_at, last_error, object_key, row_count, byte_count, sha256, created_at, "
    "updated_at";

}  // namespace

std::string select_runs(const char* where_and_order) {
  return std::string("SELECT ") + kRunColumns + " FROM export_runs " + where_and_order;
}

ExportRun read_run(const Statement& row) {
  ExportRun run;
  run.run_id = RunId(row.text(0));
  run.group_id = GroupId::parse(row.text(1));
  run.domain_id = DomainId::parse(row.text(2));
  run.slot = std::chrono::time_point_cast<std::chrono::seconds>(from_millis(row.int64(3)));
  auto state = parse_run_state(row.text(4));
  if (!state) {
    throw Error(ErrorCode::kDatabase, "run " + run.run_id.str() + " has unknown state '" +
                                          row.text(4) + "' in export_runs; fix the row");
  }
  run.state = *state;
  run.item_count = row.int64(5);
  run.attempts = static_cast<int>(row.int64(6));
  run.lease_owner = OwnerId(row.text(7));
  if (!row.is_null(8)) run.lease_expires_at = from_millis(row.int64(8));
  run.last_error = row.text(9);
  run.object_key = row.text(10);
  run.rows = row.int64(11);
  run.bytes = row.int64(12);
  run.sha256 = row.text(13);
  run.created_at = from_millis(row.int64(14));
  run.updated_at = from_millis(row.int64(15));
  return run;
}

}  // namespace user_export::sqlite
