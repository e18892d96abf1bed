#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/uuid.hpp"

namespace user_export::pg {

/// The condition that picks the users a new run of `group` claims: unsent users of the group
/// that no other unfinished run holds. `group` and `run` are SQL expressions (a parameter such
/// as `$2`, or a quoted literal). The claim and the stream under the claim's snapshot use this
/// one text, so on the same snapshot they select the same users.
std::string claimable_users_condition(const std::string& group, const std::string& run);

/// The `COPY (SELECT …) TO STDOUT` statement that streams, in id order, the users a new run of
/// `group_id` would claim now (claimable_users_condition with no run of its own), with `fields`
/// as for stream_copy_sql. Read-only.
std::string claimable_stream_copy_sql(const Uuid& group_id, const std::vector<std::string>& fields);
/// The `COPY (SELECT …) TO STDOUT` statement that streams a run just claimed, inside a
/// transaction that imported the claim's snapshot: the group's claimable users, read straight
/// from `users` in id order, the very rows the claim recorded. Ids are embedded (COPY takes no
/// parameters); they are parsed Uuids, never caller text. `fields` as for stream_copy_sql.
std::string snapshot_stream_copy_sql(const Uuid& run_id, const Uuid& group_id,
                                     const std::vector<std::string>& fields);

/// snapshot_stream_copy_sql for a batch (claim_batch): the claimable users of all `group_ids`
/// but not held by another run than `run_ids`, ordered by group id, then user id, with
/// `fields` and then the user's group id (text) as one more column.
std::string batch_snapshot_stream_copy_sql(const std::vector<Uuid>& run_ids,
                                           const std::vector<Uuid>& group_ids,
                                           const std::vector<std::string>& fields);

/// The `COPY (SELECT …) TO STDOUT` statement that streams the users of one chunk of run
/// `run_id`'s claim (one id array: at most 65,536 consecutive ids), in id order, with `fields`
/// (each one of known_source_fields(); else Error(kConfig)) as text: timestamps
/// `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`. Chunk after chunk, in chunk order, they stream the
/// whole claim in id order; used when the claim's snapshot is gone (a resumed run, a retry).
/// Profiles are joined only when a profile field is requested.
std::string stream_copy_sql(const Uuid& run_id, std::int64_t chunk,
                            const std::vector<std::string>& fields);

}  // namespace user_export::pg
