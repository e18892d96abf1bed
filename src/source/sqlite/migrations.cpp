#include "source/sqlite/migrations.hpp"

namespace user_export::sqlite {
namespace {

// Version 1: the reference schema (the spec's entities). IF NOT EXISTS lets the exporter adopt
// a database that already holds these tables. UUIDs are canonical lower-case text, booleans
// 0/1, timestamps `YYYY-MM-DD HH:MM:SS` text. AUTOINCREMENT keeps user ids from ever being
// reused, as an identity column in PostgreSQL does.
constexpr const char* kReferenceSchema = R"sql(
CREATE TABLE IF NOT EXISTS matching_groups (
  id         TEXT    NOT NULL PRIMARY KEY,
  domain_id  TEXT    NOT NULL,
  name       TEXT    NOT NULL,
  group_type TEXT    NOT NULL,
  active     INTEGER NOT NULL DEFAULT 1,
  created_at TEXT    NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS matching_groups_by_domain ON matching_groups (domain_id, id);

CREATE TABLE IF NOT EXISTS users (
  id                       INTEGER PRIMARY KEY AUTOINCREMENT,
  ref_id                   TEXT    NOT NULL UNIQUE,
  username                 TEXT    NOT NULL,
  email                    TEXT,
  phone                    TEXT,
  group_id                 TEXT    NOT NULL,
  sent_to_matching_service INTEGER NOT NULL DEFAULT 0,
  created_at               TEXT    NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS users_unsent_by_group ON users (group_id, id)
  WHERE NOT sent_to_matching_service;

CREATE TABLE IF NOT EXISTS profiles (
  user_id       INTEGER PRIMARY KEY REFERENCES users (id),
  display_name  TEXT,
  gender        TEXT,
  date_of_birth TEXT,
  city          TEXT,
  bio           TEXT,
  interests     TEXT
);
)sql";

// Version 2: the exporter's own tables. Instants are integer milliseconds since the epoch.
constexpr const char* kExporterTables = R"sql(
CREATE TABLE export_runs (
  run_id           TEXT    NOT NULL PRIMARY KEY,
  group_id         TEXT    NOT NULL,
  domain_id        TEXT    NOT NULL,
  slot             INTEGER NOT NULL,
  state            TEXT    NOT NULL
                   CHECK (state IN ('claimed', 'committed', 'completed', 'empty')),
  item_count       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  last_error       TEXT,
  object_key       TEXT,
  row_count        INTEGER,
  byte_count       INTEGER,
  sha256           TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (group_id, slot)
);
CREATE INDEX export_runs_unfinished ON export_runs (group_id) WHERE state = 'claimed';
CREATE INDEX export_runs_recent ON export_runs (created_at);

CREATE TABLE export_run_items (
  run_id  TEXT    NOT NULL REFERENCES export_runs (run_id),
  user_id INTEGER NOT NULL,
  PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
CREATE INDEX export_run_items_by_user ON export_run_items (user_id);

CREATE TABLE export_outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id          TEXT    NOT NULL REFERENCES export_runs (run_id),
  seq             INTEGER NOT NULL,
  topic           TEXT    NOT NULL,
  message_key     TEXT    NOT NULL,
  payload         TEXT    NOT NULL,
  headers         TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'published', 'dead_lettered')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  published_at    INTEGER,
  UNIQUE (run_id, seq)
);
CREATE INDEX export_outbox_pending ON export_outbox (id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX export_outbox_by_run ON export_outbox (run_id, state);
)sql";

// Version 4: group and domain ids are compared as UUIDs, whatever their letter case in the
// stored text (a database written by another program may hold `AAAAAAAA-…`); these indexes
// keep those comparisons (`= ?1 COLLATE NOCASE`) as fast as the exact ones.
constexpr const char* kCaseInsensitiveIds = R"sql(
CREATE INDEX IF NOT EXISTS users_unsent_by_group_nocase ON users (group_id COLLATE NOCASE, id)
  WHERE NOT sent_to_matching_service;
CREATE INDEX IF NOT EXISTS matching_groups_by_domain_nocase
  ON matching_groups (domain_id COLLATE NOCASE, id);
CREATE INDEX IF NOT EXISTS matching_groups_by_id_nocase ON matching_groups (id COLLATE NOCASE);
)sql";

// Version 3: relays claim the outbox messages they send (a claim is live while
// `claim_expires_at > now`, in milliseconds like every instant here), so several relays never
// send one message at the same time. The index of claimed rows finds the claims of dead relays.
constexpr const char* kOutboxClaims = R"sql(
ALTER TABLE export_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE export_outbox ADD COLUMN claim_expires_at INTEGER;
CREATE INDEX export_outbox_claimed ON export_outbox (claimed_by) WHERE claimed_by IS NOT NULL;
)sql";

// Version 5: the parts of a large id-list run are stored while its ids are streamed, outside
// the outbox; the commit that marks the run's users moves its attempt's parts into the outbox
// with the part count filled in (docs/ARCHITECTURE.md, "Id-list parts").
constexpr const char* kStagedParts = R"sql(
CREATE TABLE export_outbox_staged (
  run_id      TEXT    NOT NULL REFERENCES export_runs (run_id),
  attempt     INTEGER NOT NULL,
  number      INTEGER NOT NULL,
  topic       TEXT    NOT NULL,
  message_key TEXT    NOT NULL,
  payload     TEXT    NOT NULL,
  headers     TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (run_id, attempt, number)
);
)sql";

// Version 6: an operator's replay and re-export of a finished run (docs/OPERATIONS.md). A
// replayed message is a new outbox row that names the row it repeats (`replay_of`), so a second
// replay repeats the commit's messages, never a replay. Each action is kept for audit; the
// record outlives the run (prune() keeps it), so it has no foreign key.
constexpr const char* kRunActions = R"sql(
ALTER TABLE export_outbox ADD COLUMN replay_of INTEGER;
CREATE TABLE export_run_actions (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id  TEXT    NOT NULL,
  action  TEXT    NOT NULL CHECK (action IN ('replay', 'reexport')),
  actor   TEXT    NOT NULL,
  reason  TEXT    NOT NULL,
  count   INTEGER NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX export_run_actions_by_run ON export_run_actions (run_id, id);
)sql";

constexpr Migration kMigrations[] = {
    {1, "reference schema (matching_groups, users, profiles)", kReferenceSchema},
    {2, "exporter tables (export_runs, export_run_items, export_outbox)", kExporterTables},
    {3, "outbox claims (export_outbox.claimed_by, claim_expires_at)", kOutboxClaims},
    {4, "case-insensitive group and domain id indexes", kCaseInsensitiveIds},
    {5, "staged id-list parts (export_outbox_staged)", kStagedParts},
    {6, "operator actions (export_outbox.replay_of, export_run_actions)", kRunActions},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

}  // namespace user_export::sqlite
