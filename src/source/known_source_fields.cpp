#include <algorithm>

#include "common/error.hpp"
#include "source/repository.hpp"
#include "source/source_fields.hpp"

namespace user_export {
namespace {

constexpr std::string_view kProfileFields[] = {"display_name", "gender", "date_of_birth",
                                               "city",         "bio",    "interests"};

std::string valid_list() {
  std::string out;
  for (const auto& name : known_source_fields()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

[[noreturn]] void throw_unknown(std::string_view field) {
  throw Error(ErrorCode::kConfig, "unknown source field '" + std::string(field) +
                                      "' in the CSV columns; valid fields are: " + valid_list());
}

}  // namespace

const std::vector<std::string>& known_source_fields() {
  static const std::vector<std::string> kFields = {
      "id",           "ref_id", "username",      "email", "phone", "group_id", "created_at",
      "display_name", "gender", "date_of_birth", "city",  "bio",   "interests"};
  return kFields;
}

SourceTable source_table_of(std::string_view field) {
  const auto& known = known_source_fields();
  if (std::find(known.begin(), known.end(), field) == known.end()) throw_unknown(field);
  const bool profile = std::find(std::begin(kProfileFields), std::end(kProfileFields), field) !=
                       std::end(kProfileFields);
  return profile ? SourceTable::kProfiles : SourceTable::kUsers;
}

void require_known_source_fields(const std::vector<std::string>& fields) {
  for (const auto& field : fields) source_table_of(field);
}

}  // namespace user_export
