// Step 2 on PostgreSQL: the claimed rows through `COPY (SELECT …) TO STDOUT`.
#include <optional>
#include <string_view>

#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/postgres/copy_text.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_stream_sql.hpp"
#include "source/source_fields.hpp"

namespace user_export {

void PostgresRepository::stream_rows(const std::string& run_id,
                                     const std::vector<std::string>& fields, RowHandler& handler) {
  if (fields.empty()) {
    throw Error(ErrorCode::kConfig,
                "no source fields requested; configure at least one CSV "
                "column");
  }
  require_known_source_fields(fields);
  std::optional<Uuid> run = Uuid::parse(run_id);
  auto conn = pool_.acquire();
  if (run) {
    pg::Result exists = conn->exec("SELECT 1 FROM export_runs WHERE run_id = $1", {run->str()});
    if (exists.rows() == 0) run.reset();
  }
  if (!run) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot stream run " + run_id + ": there is no such run; claim it first");
  }

  std::vector<std::optional<std::string_view>> row(fields.size());
  conn->copy_out(pg::stream_copy_sql(*run, fields), [&](char* line, std::size_t length) {
    if (!pg::split_copy_line(line, length, row)) {
      throw Error(ErrorCode::kDatabase, "PostgreSQL sent a COPY row for run " + run_id +
                                            " with a number of fields "
                                            "other than the " +
                                            std::to_string(fields.size()) +
                                            " requested; report this as a bug");
    }
    handler.on_row(RowView(row));
  });
}

}  // namespace user_export
