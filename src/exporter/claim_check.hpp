#pragma once

#include <cstdint>

#include "domain/group.hpp"
#include "domain/run.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Throws Error(kInternal) unless `streamed` rows cover the run's whole claim: all of its
/// `item_count` users, or, when some were deleted since the claim (a resumed run cannot stream
/// them), all that remain; those deletions are logged, and the commit then marks exactly the
/// users in the export. Anything else means the claim changed under the run, and committing
/// would mark users that are not in the export.
void require_whole_claim_streamed(Repository& repository, const MatchingGroup& group,
                                  const ExportRun& run, std::int64_t streamed);

}  // namespace user_export
