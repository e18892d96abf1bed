#include "source/postgres/postgres_rows.hpp"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "source/lease_rule.hpp"
#include "source/outbox_headers.hpp"

namespace user_export::pg {

const char* const kRunColumns =
    "run_id::text, group_id::text, domain_id::text, extract(epoch FROM slot)::bigint, state, "
    "item_count, attempts, lease_owner, (extract(epoch FROM lease_expires_at) * 1000000)::bigint, "
    "last_error, object_key, row_count, byte_count, sha256, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint";

const char* const kGroupColumns = "id::text, domain_id::text, name, group_type, active";

std::string timestamp_param(SystemTime t) {
  using namespace std::chrono;
  auto micros = floor<microseconds>(t);
  auto day = floor<days>(micros);
  year_month_day ymd(day);
  hh_mm_ss<microseconds> time(micros - day);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d.%06lld+00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<long long>(time.subseconds().count()));
  return buffer;
}

std::string array_param(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values[i];
  }
  return out + "}";
}

std::string array_param(const std::vector<RunId>& values) {
  std::vector<std::string> text;
  text.reserve(values.size());
  for (const RunId& v : values) text.push_back(v.str());
  return array_param(text);
}

std::string array_param(std::span<const std::int64_t> values) {
  std::vector<std::string> text;
  text.reserve(values.size());
  for (const std::int64_t v : values) text.push_back(std::to_string(v));
  return array_param(text);
}

SystemTime from_micros(std::int64_t micros) {
  return SystemTime{
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::microseconds{micros})};
}

ExportRun read_run(const Result& r, int row) {
  ExportRun run;
  run.run_id = RunId(r.text(row, 0));
  run.group_id = GroupId::parse(r.view(row, 1));
  run.domain_id = DomainId::parse(r.view(row, 2));
  run.slot = Slot{std::chrono::seconds{r.int64(row, 3)}};
  auto state = parse_run_state(r.view(row, 4));
  if (!state) {
    throw Error(ErrorCode::kDatabase, "run " + run.run_id.str() + " has unknown state '" +
                                          r.text(row, 4) + "' in export_runs; fix the row");
  }
  run.state = *state;
  run.item_count = r.int64(row, 5);
  run.attempts = static_cast<int>(r.int64(row, 6));
  run.lease_owner = OwnerId(r.text(row, 7));
  if (!r.is_null(row, 8)) run.lease_expires_at = from_micros(r.int64(row, 8));
  run.last_error = r.text(row, 9);
  run.object_key = r.text(row, 10);
  if (!r.is_null(row, 11)) run.rows = r.int64(row, 11);
  if (!r.is_null(row, 12)) run.bytes = r.int64(row, 12);
  run.sha256 = r.text(row, 13);
  run.created_at = from_micros(r.int64(row, 14));
  run.updated_at = from_micros(r.int64(row, 15));
  return run;
}

MatchingGroup read_group(const Result& r, int row) {
  MatchingGroup group;
  group.id = GroupId::parse(r.view(row, 0));
  group.domain_id = DomainId::parse(r.view(row, 1));
  group.name = r.text(row, 2);
  group.type_name = r.text(row, 3);
  group.active = r.view(row, 4) == "t";
  return group;
}

void throw_lease_lost(Connection& connection, const RunId& run_id, const OwnerId& owner,
                      int attempt, SystemTime now, const char* action) {
  Result r = connection.exec(
      "SELECT state, lease_owner, (extract(epoch FROM lease_expires_at) * 1000000)::bigint, "
      "attempts FROM export_runs WHERE run_id::text = $1",
      {run_id.str()});
  std::optional<StoredLease> lease;
  if (r.rows() > 0) {
    lease.emplace();
    lease->state = r.text(0, 0);
    if (!r.is_null(0, 1)) lease->owner = OwnerId(r.text(0, 1));
    if (!r.is_null(0, 2)) lease->expires = from_micros(r.int64(0, 2));
    lease->attempts = static_cast<int>(r.int64(0, 3));
  }
  user_export::throw_lease_lost(run_id, owner, attempt, action,
                                lease_problem(lease, owner, attempt, now));
}

}  // namespace user_export::pg
