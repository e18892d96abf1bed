#include "domain/ids.hpp"

#include "common/error.hpp"

namespace user_export {

void throw_invalid_id(const char* what, std::string_view text) {
  throw Error(ErrorCode::kInvalidInput,
              std::string("invalid ") + what + " '" + std::string(text) +
                  "': expected a non-nil UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

std::string RunIdTag::canonical(std::string_view text) {
  auto id = Uuid::parse(text);
  if (!id) {
    throw Error(ErrorCode::kInvalidInput,
                "'" + std::string(text) +
                    "' is not a run id: a run id is a UUID such as the runId of a message "
                    "or of `user-export runs`");
  }
  return id->str();
}

}  // namespace user_export
