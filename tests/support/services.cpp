#include "support/services.hpp"

#include <cstdlib>
#include <string_view>

namespace user_export::testing {

bool services_required() {
  const char* value = std::getenv("UE_REQUIRE_SERVICES");
  return value != nullptr && std::string_view(value) == "1";
}

}  // namespace user_export::testing
