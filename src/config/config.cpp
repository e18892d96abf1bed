#include "config/config.hpp"

namespace user_export {

std::vector<CsvColumn> default_csv_columns() {
  std::vector<CsvColumn> columns;
  for (const char* source : {"ref_id", "username", "email", "phone", "created_at", "display_name",
                             "gender", "date_of_birth", "city", "bio", "interests"}) {
    columns.push_back(CsvColumn{source, source, MaskMode::kNone});
  }
  return columns;
}

}  // namespace user_export
