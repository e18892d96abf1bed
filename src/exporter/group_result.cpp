#include "exporter/group_result.hpp"

namespace user_export {

const char* to_string(GroupOutcome outcome) {
  switch (outcome) {
    case GroupOutcome::kExported:
      return "exported";
    case GroupOutcome::kAlreadyDone:
      return "already_done";
    case GroupOutcome::kEmpty:
      return "empty";
    case GroupOutcome::kSkipped:
      return "skipped";
    case GroupOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

}  // namespace user_export
