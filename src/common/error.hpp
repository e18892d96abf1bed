#pragma once

#include <stdexcept>
#include <string>

namespace user_export {

/// What went wrong, in the terms an operator acts on. Every failure in the project is reported
/// as an `Error` carrying one of these codes; the CLI maps them to exit codes.
enum class ErrorCode {
  kUsage,         ///< The command line is wrong.
  kConfig,        ///< The configuration (file or environment) is invalid.
  kInvalidInput,  ///< Data from a backend or the user is malformed (bad UUID, unknown group type).
  kDatabase,      ///< The database failed or answered something unexpected.
  kStorage,       ///< The object store failed.
  kPublish,       ///< The message broker or sink failed.
  kIo,            ///< Local file-system I/O failed (staging, disk full).
  kLeaseLost,     ///< This instance no longer owns the run it tried to commit (fencing).
  kInternal,      ///< A bug: an invariant of the program itself was broken.
};

/// Short lower-case name of a code, used in logs and metrics ("config", "storage", ...).
const char* to_string(ErrorCode code);

/// The one exception type of the project. `retriable()` says whether trying the same operation
/// again may succeed (a timeout, a 503, a dropped connection) or cannot (bad credentials, a
/// malformed config, a lost lease).
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, bool retriable = false)
      : std::runtime_error(message), code_(code), retriable_(retriable) {}

  /// The category of the failure.
  ErrorCode code() const { return code_; }
  /// Whether a later attempt of the same operation may succeed.
  bool retriable() const { return retriable_; }

 private:
  ErrorCode code_;
  bool retriable_;
};

/// Process exit codes of the CLI: 0 all groups succeeded, 1 some group failed, 2 usage or
/// configuration error, 3 stopped by SIGTERM/SIGINT (what was in flight finished or was
/// stopped; claims and pending messages are kept for the next run).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 3;

/// Exit code for an error that ends the process: 2 for usage/config/invalid input, else 1.
int exit_code_for(ErrorCode code);

}  // namespace user_export
