#include "source/postgres/run_sql.hpp"

#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export::pg {

namespace {

std::optional<ClaimedRun> live_lease(Connection& c, const RunId& run_id, const OwnerId& owner,
                                     int attempt, SystemTime now, bool lock) {
  if (!Uuid::parse(run_id.view())) return std::nullopt;
  Result r = c.exec(std::string("SELECT group_id::text, item_count FROM export_runs WHERE "
                                "run_id = $1 AND state = 'claimed' AND lease_owner = $2 AND "
                                "attempts = $4 AND lease_expires_at > $3::timestamptz") +
                        (lock ? " FOR UPDATE" : ""),
                    {run_id.str(), owner.str(), timestamp_param(now), std::to_string(attempt)});
  if (r.rows() != 1) return std::nullopt;
  return ClaimedRun{std::string(r.view(0, 0)), r.int64(0, 1)};
}

}  // namespace

std::optional<ClaimedRun> lock_live_lease(Connection& c, const RunId& run_id, const OwnerId& owner,
                                          int attempt, SystemTime now) {
  return live_lease(c, run_id, owner, attempt, now, true);
}

std::optional<ClaimedRun> read_live_lease(Connection& c, const RunId& run_id, const OwnerId& owner,
                                          int attempt, SystemTime now) {
  return live_lease(c, run_id, owner, attempt, now, false);
}

// Claims at least this large are marked with a merge join (sorted claim ids against the
// group's unsent users in id order); smaller ones with index lookups, which the planner picks
// by itself because it cannot see how many ids an array holds.
constexpr std::int64_t kMergeMarkThreshold = 10'000;

void mark_claimed_users(Connection& c, const RunId& run_id, const ClaimedRun& run) {
  const char* claimed_ids =
      "(SELECT x.id FROM export_run_claims c CROSS JOIN LATERAL unnest(c.user_ids) AS x (id) "
      "WHERE c.run_id = $1) AS x";
  if (run.item_count >= kMergeMarkThreshold) {
    c.exec("SET LOCAL enable_nestloop = off");
    c.exec("SET LOCAL enable_hashjoin = off");
    c.exec("SET LOCAL work_mem = '64MB'");
    c.exec("SET LOCAL jit = off");  // the disabled join kinds make the cost look huge
  }
  Result marked =
      c.exec(std::string("UPDATE users u SET sent_to_matching_service = true FROM ") + claimed_ids +
                 " WHERE u.id = x.id AND u.group_id = $2 "
                 "AND NOT u.sent_to_matching_service",
             {run_id.str(), run.group_id});
  if (marked.affected() >= run.item_count) return;
  if (run.item_count >= kMergeMarkThreshold) {
    c.exec("SET LOCAL enable_nestloop = on");
    c.exec("SET LOCAL enable_hashjoin = on");
  }
  c.exec(std::string("UPDATE users u SET sent_to_matching_service = true FROM ") + claimed_ids +
             " WHERE u.id = x.id AND NOT u.sent_to_matching_service",
         {run_id.str()});
}

void write_commit(Connection& c, const CommitRequest& request, const std::string& now_param) {
  if (request.file) {
    c.exec(
        "UPDATE export_runs SET object_key = $2, row_count = $3, byte_count = $4, sha256 = $5 "
        "WHERE run_id = $1",
        {request.run_id.str(), request.file->object_key, std::to_string(request.file->rows),
         std::to_string(request.file->bytes), request.file->sha256});
  }
  int seq = 0;
  for (const OutboundMessage& message : request.messages) {
    c.exec(
        "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, state, "
        "attempts, next_attempt_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7::timestamptz, $7::timestamptz)",
        {request.run_id.str(), std::to_string(seq++), message.topic, message.key, message.payload,
         headers_to_json(message.headers), now_param});
  }
  if (request.staged_parts > 0) {
    const std::int64_t moved =
        c.exec(
             "INSERT INTO export_outbox (run_id, seq, topic, message_key, payload, headers, "
             "state, attempts, next_attempt_at, created_at) "
             "SELECT run_id, $3 + number - 1, topic, message_key, replace(payload, $4, $5), "
             "headers, 'pending', 0, $6::timestamptz, $6::timestamptz FROM export_outbox_staged "
             "WHERE run_id = $1 AND attempt = $2 AND number BETWEEN 1 AND $7 ORDER BY number",
             {request.run_id.str(), std::to_string(request.attempt), std::to_string(seq),
              std::string(kPartsPlaceholder), parts_field(request.staged_parts), now_param,
              std::to_string(request.staged_parts)})
            .affected();
    if (moved != request.staged_parts) {
      throw Error(ErrorCode::kInternal, "the commit of run " + request.run_id.str() + " expected " +
                                            std::to_string(request.staged_parts) +
                                            " staged parts and found " + std::to_string(moved) +
                                            "; nothing was committed, retry the run");
    }
  }
  c.exec("DELETE FROM export_outbox_staged WHERE run_id = $1", {request.run_id.str()});
  const bool sends = !request.messages.empty() || request.staged_parts > 0;
  c.exec(
      "UPDATE export_runs SET state = $2, lease_expires_at = NULL, updated_at = $3::timestamptz "
      "WHERE run_id = $1",
      {request.run_id.str(), sends ? "committed" : "completed", now_param});
}

void stage_part(Connection& c, const RunId& run_id, int attempt, int number,
                const OutboundMessage& part, const std::string& now_param) {
  c.exec(
      "INSERT INTO export_outbox_staged (run_id, attempt, number, topic, message_key, payload, "
      "headers, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz) "
      "ON CONFLICT (run_id, attempt, number) DO UPDATE SET topic = EXCLUDED.topic, "
      "message_key = EXCLUDED.message_key, payload = EXCLUDED.payload, "
      "headers = EXCLUDED.headers, created_at = EXCLUDED.created_at",
      {run_id.str(), std::to_string(attempt), std::to_string(number), part.topic, part.key,
       part.payload, headers_to_json(part.headers), now_param});
}

}  // namespace user_export::pg
