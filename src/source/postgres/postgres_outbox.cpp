// The transactional outbox on PostgreSQL: list and claim pending messages, record delivery
// outcomes (which end or release the claims).
#include "common/error.hpp"
#include "source/outbox_headers.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_rows.hpp"

namespace user_export {

using pg::timestamp_param;

namespace {

[[noreturn]] void throw_unknown_message(std::int64_t outbox_id) {
  throw Error(ErrorCode::kInvalidInput, "there is no outbox message with id " +
                                            std::to_string(outbox_id) +
                                            " in export_outbox; pass an id from "
                                            "pending_messages()");
}

// Throws Error(kInvalidInput) unless the outbox holds message `outbox_id`.
void require_message(pg::Connection& c, std::int64_t outbox_id) {
  pg::Result r = c.exec("SELECT 1 FROM export_outbox WHERE id = $1", {std::to_string(outbox_id)});
  if (r.rows() == 0) throw_unknown_message(outbox_id);
}

// The columns read_messages() expects, in its order.
constexpr const char* kMessageColumns =
    "id, run_id::text, topic, message_key, payload, headers, attempts";

std::vector<OutboundMessage> read_messages(const pg::Result& r) {
  std::vector<OutboundMessage> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    OutboundMessage message;
    message.outbox_id = r.int64(i, 0);
    message.run_id = RunId(r.text(i, 1));
    message.topic = r.text(i, 2);
    message.key = r.text(i, 3);
    message.payload = r.text(i, 4);
    message.headers = headers_from_json(r.view(i, 5), message.outbox_id);
    message.attempts = static_cast<int>(r.int64(i, 6));
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace

std::vector<OutboundMessage> PostgresRepository::pending_messages(std::size_t limit) {
  auto conn = pool_.acquire();
  return read_messages(conn->exec(
      "SELECT " + std::string(kMessageColumns) +
          " FROM export_outbox WHERE state = 'pending' AND next_attempt_at <= $1::timestamptz "
          "ORDER BY id LIMIT $2",
      {timestamp_param(clock_.now()), std::to_string(limit)}));
}

std::vector<OutboundMessage> PostgresRepository::claim_messages(std::size_t limit,
                                                                const OwnerId& owner,
                                                                std::chrono::seconds lease,
                                                                std::size_t max_bytes) {
  check_message_claim(owner, lease);
  if (limit == 0) return {};
  const SystemTime now = clock_.now();
  auto conn = pool_.acquire();
  // One statement: the inner SELECT locks the rows it picks and skips rows another relay's
  // claim is locking right now, so two relays claiming at once take different messages instead
  // of waiting for each other; a row claimed and committed meanwhile is re-checked under its
  // lock and left out. Of the rows picked, those past the byte bound stay unclaimed (their
  // locks end with the statement); octet_length reads a stored payload's size, not its text.
  return read_messages(
      conn->exec("WITH picked AS (SELECT id, octet_length(payload)::bigint AS n FROM export_outbox "
                 "WHERE state = 'pending' AND next_attempt_at <= $1::timestamptz "
                 "AND (claim_expires_at IS NULL OR claim_expires_at <= $1::timestamptz) "
                 "ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED), "
                 "fits AS (SELECT id FROM (SELECT id, n, sum(n) OVER (ORDER BY id) AS upto "
                 "FROM picked) w WHERE upto = n OR upto <= $5::bigint), "
                 "claimed AS (UPDATE export_outbox SET claimed_by = $3, "
                 "claim_expires_at = $4::timestamptz WHERE id IN (SELECT id FROM fits) RETURNING " +
                     std::string(kMessageColumns) + ") SELECT * FROM claimed ORDER BY id",
                 {timestamp_param(now), std::to_string(limit), owner.str(),
                  timestamp_param(now + lease), std::to_string(claim_byte_bound(max_bytes))}));
}

std::int64_t PostgresRepository::release_message_claims(
    const std::function<bool(const OwnerId& owner)>& owner_is_dead) {
  const std::string now = timestamp_param(clock_.now());
  auto conn = pool_.acquire();
  pg::Result owners = conn->exec(
      "SELECT DISTINCT claimed_by FROM export_outbox WHERE claimed_by IS NOT NULL "
      "AND state = 'pending' AND claim_expires_at > $1::timestamptz",
      {now});
  std::vector<std::string> dead;
  for (int i = 0; i < owners.rows(); ++i) {
    OwnerId owner(owners.text(i, 0));
    if (owner_is_dead(owner)) dead.push_back(owner.str());
  }
  if (dead.empty()) return 0;
  // A dead owner claims nothing more, so releasing all it holds cannot race with it.
  return conn
      ->exec(
          "UPDATE export_outbox SET claimed_by = NULL, claim_expires_at = NULL "
          "WHERE claimed_by = ANY ($1::text[]) AND state = 'pending' "
          "AND claim_expires_at > $2::timestamptz",
          {pg::array_param(dead), now})
      .affected();
}

std::int64_t PostgresRepository::pending_count() {
  auto conn = pool_.acquire();
  return conn->exec("SELECT count(*) FROM export_outbox WHERE state = 'pending'").int64(0, 0);
}

void PostgresRepository::finish_messages(std::span<const std::int64_t> outbox_ids,
                                         const char* state, const std::string* reason) {
  if (outbox_ids.empty()) return;
  const std::string ids = pg::array_param(outbox_ids);
  const std::string now = timestamp_param(clock_.now());
  auto conn = pool_.acquire();
  pg::Transaction tx(*conn);
  pg::Result unknown = conn->exec(
      "SELECT x FROM unnest($1::bigint[]) AS x "
      "WHERE NOT EXISTS (SELECT 1 FROM export_outbox o WHERE o.id = x) LIMIT 1",
      {ids});
  if (unknown.rows() > 0) throw_unknown_message(unknown.int64(0, 0));
  // The messages' runs are locked (so two messages of one run finishing at once cannot both
  // miss the run's completion), in run-id order (so two relays cannot deadlock).
  conn->exec(
      "SELECT 1 FROM export_runs WHERE run_id IN "
      "(SELECT run_id FROM export_outbox WHERE id = ANY ($1::bigint[])) "
      "ORDER BY run_id FOR UPDATE",
      {ids});
  pg::Result finished = conn->exec(
      "UPDATE export_outbox SET state = $2, published_at = $3::timestamptz, "
      "last_error = coalesce($4, last_error), claimed_by = NULL, claim_expires_at = NULL "
      "WHERE id = ANY ($1::bigint[]) AND state = 'pending' RETURNING run_id::text",
      {ids, std::string(state), now, reason ? pg::Param(*reason) : pg::Param()});
  if (finished.rows() > 0) {
    // A second statement: within the first, the messages it finished would still look pending.
    std::vector<std::string> runs;
    for (int i = 0; i < finished.rows(); ++i) runs.push_back(finished.text(i, 0));
    conn->exec(
        "UPDATE export_runs r SET state = 'completed', updated_at = $2::timestamptz "
        "WHERE r.run_id = ANY ($1::uuid[]) AND r.state = 'committed' AND NOT EXISTS "
        "(SELECT 1 FROM export_outbox p WHERE p.run_id = r.run_id AND p.state = 'pending')",
        {pg::array_param(runs), now});
  }
  tx.commit();
}

void PostgresRepository::mark_all_published(std::span<const std::int64_t> outbox_ids) {
  finish_messages(outbox_ids, "published", nullptr);
}

void PostgresRepository::mark_dead_lettered(std::int64_t outbox_id, const std::string& reason) {
  finish_messages({&outbox_id, 1}, "dead_lettered", &reason);
}

void PostgresRepository::record_publish_failure(std::int64_t outbox_id, const std::string& error,
                                                SystemTime next_attempt) {
  auto conn = pool_.acquire();
  pg::Result updated = conn->exec(
      "UPDATE export_outbox SET attempts = attempts + 1, last_error = $2, "
      "next_attempt_at = $3::timestamptz, claimed_by = NULL, claim_expires_at = NULL "
      "WHERE id = $1 AND state = 'pending'",
      {std::to_string(outbox_id), error, timestamp_param(next_attempt)});
  if (updated.affected() == 0) require_message(*conn, outbox_id);
}

}  // namespace user_export
