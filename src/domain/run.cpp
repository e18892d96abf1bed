#include "domain/run.hpp"

namespace user_export {

const char* to_string(RunState state) {
  switch (state) {
    case RunState::kClaimed:
      return "claimed";
    case RunState::kCommitted:
      return "committed";
    case RunState::kCompleted:
      return "completed";
    case RunState::kEmpty:
      return "empty";
  }
  return "claimed";
}

std::optional<RunState> parse_run_state(std::string_view text) {
  if (text == "claimed") return RunState::kClaimed;
  if (text == "committed") return RunState::kCommitted;
  if (text == "completed") return RunState::kCompleted;
  if (text == "empty") return RunState::kEmpty;
  return std::nullopt;
}

}  // namespace user_export
