#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/group.hpp"
#include "domain/run.hpp"
#include "source/row_handler.hpp"

namespace user_export {

/// Totals over finished file runs (plan's size estimate).
struct FileRunTotals {
  std::int64_t runs = 0;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
};

/// The groups and what a new run of one would claim (the spec's MatchingGroupRepository, plus
/// the read-only questions `plan` asks; docs/ARCHITECTURE.md, "Ports and folders"). A role of
/// Repository.
class GroupCatalogue {
 public:
  virtual ~GroupCatalogue() = default;

  /// Active groups of a domain, ordered by id. Unknown group types are returned as stored.
  virtual std::vector<MatchingGroup> active_groups(const DomainId& domain) = 0;
  /// One group by id, active or not.
  virtual std::optional<MatchingGroup> find_group(const GroupId& id) = 0;

  /// Read-only inspection (`plan`; docs/SERVICE.md). None of these writes.
  ///
  /// The group's unfinished (claimed) run, the one claim() would resume, or nullopt.
  virtual std::optional<ExportRun> unfinished_run(const GroupId& group) = 0;
  /// How many users a new run of `group` would claim now: unsent users of the group that no
  /// unfinished run holds (exactly claim()'s condition).
  virtual std::int64_t claimable_users(const GroupId& group) = 0;
  /// Streams the users claimable_users() counts, ascending by user id, with `fields` as
  /// stream_rows() does, without claiming them.
  virtual void stream_claimable(const GroupId& group, const std::vector<std::string>& fields,
                                RowHandler& handler) = 0;
  /// Runs, rows and bytes of the finished (`committed` or `completed`) runs that stored a file
  /// with at least one row; of `group` only when given, else of every group.
  virtual FileRunTotals file_run_totals(const std::optional<GroupId>& group) = 0;
};

}  // namespace user_export
