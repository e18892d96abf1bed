#include "common/error.hpp"

namespace user_export {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
      return "usage";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kInvalidInput:
      return "invalid_input";
    case ErrorCode::kDatabase:
      return "database";
    case ErrorCode::kStorage:
      return "storage";
    case ErrorCode::kPublish:
      return "publish";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kLeaseLost:
      return "lease_lost";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
    case ErrorCode::kConfig:
    case ErrorCode::kInvalidInput:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

}  // namespace user_export
