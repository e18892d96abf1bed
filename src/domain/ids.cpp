#include "domain/ids.hpp"

#include "common/error.hpp"

namespace user_export {

void throw_invalid_id(const char* what, std::string_view text) {
  throw Error(ErrorCode::kInvalidInput,
              std::string("invalid ") + what + " '" + std::string(text) +
                  "': expected a non-nil UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

}  // namespace user_export
