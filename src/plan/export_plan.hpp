#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "domain/group.hpp"
#include "domain/run.hpp"
#include "source/repository.hpp"

namespace user_export {

/// One masked CSV column: its header and mask mode.
struct MaskedColumn {
  std::string column;
  std::string mask;  ///< `redact`, `partial` or `hash`
};

/// What an export of one group would do now (docs/SERVICE.md, "plan").
struct GroupPlan {
  MatchingGroup group;
  /// The users the export would take: what a new claim would take (unsent, not held by an
  /// unfinished run), or the claimed users of the unfinished run it would resume.
  std::int64_t users = 0;
  std::optional<std::string> resumes_run;  ///< the unfinished run it would resume
  /// File groups: users × the average compressed row size of earlier finished file runs of the
  /// group (else of all groups); nullopt when there is no history (and for id-list groups).
  std::optional<std::int64_t> estimated_bytes;
  /// File groups: the key prefix the object would go under (object_key_for() up to the file
  /// name); nullopt for id-list groups.
  std::optional<std::string> key_prefix;
  std::vector<MaskedColumn> masked_columns;  ///< file groups: columns with a mask
  int messages = 0;   ///< file: 1 when users > 0; id list: the parts the exporter would cut
  std::string error;  ///< why the group cannot be exported (unknown type, a user without ref_id)
};

/// Computes GroupPlans with read-only Repository calls only: nothing is claimed, written,
/// uploaded or sent, and no migration runs.
class ExportPlanner {
 public:
  /// `store_key_prefix`: the object store's key prefix (ObjectStore::key_prefix()).
  ExportPlanner(const Config& config, Repository& repository, std::string store_key_prefix);

  /// The plan of `group` for an export in `slot` (a resumed run keeps its own slot).
  GroupPlan plan(const MatchingGroup& group, Slot slot);

 private:
  int id_list_parts(const MatchingGroup& group, const std::optional<ExportRun>& resumed, Slot slot);
  std::optional<std::int64_t> estimate_bytes(const GroupId& group, std::int64_t users);

  const Config& config_;
  Repository& repository_;
  std::string store_key_prefix_;
};

/// The plans as the JSON array `plan --json` and GET /api/plan print (camelCase fields).
std::string plan_json(const std::vector<GroupPlan>& plans);

/// The plans as a table, one line per group, and the error of a group that has one.
void print_plan_table(std::ostream& out, const std::vector<GroupPlan>& plans);

}  // namespace user_export
