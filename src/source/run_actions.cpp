// The rules of the operator's actions on a run (replay, re-export) that every backend applies
// inside the action's transaction (docs/OPERATIONS.md).
#include "common/error.hpp"
#include "source/repository.hpp"

namespace user_export {

const char* to_string(RunActionKind kind) {
  return kind == RunActionKind::kReplay ? "replay" : "reexport";
}

void check_run_action(const RunId& run_id, const std::string& state_text, RunActionKind kind) {
  if (state_text == "committed" || state_text == "completed") return;
  const bool replay = kind == RunActionKind::kReplay;
  if (state_text == "claimed") {
    throw Error(ErrorCode::kInvalidInput,
                "run " + run_id.str() + " is not finished (claimed): " +
                    (replay ? "it has sent no message yet" : "it has marked no user yet") +
                    "; let the next export finish it, then try again");
  }
  if (state_text == "empty") {
    throw Error(ErrorCode::kInvalidInput,
                "run " + run_id.str() + " is empty: it exported nobody, so there is nothing to " +
                    (replay ? "replay" : "re-export"));
  }
  throw Error(ErrorCode::kInvalidInput, "run " + run_id.str() + " has the unknown state '" +
                                            state_text + "'; nothing was " +
                                            (replay ? "replayed" : "re-exported"));
}

void throw_unknown_run(const RunId& run_id) {
  throw Error(ErrorCode::kInvalidInput,
              "there is no run " + run_id.str() + "; list the runs with `user-export runs`");
}

void check_run_action_request(const std::string& actor, const std::string& reason) {
  if (actor.empty()) {
    throw Error(ErrorCode::kInvalidInput, "an action on a run needs to say who asked for it");
  }
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(ErrorCode::kInvalidInput,
                "an action on a run needs a reason; give one with --reason (it is kept for audit)");
  }
  if (reason.size() > 1000) {
    throw Error(ErrorCode::kInvalidInput, "the reason is " + std::to_string(reason.size()) +
                                              " bytes long; keep it under 1,000 bytes");
  }
}

}  // namespace user_export
