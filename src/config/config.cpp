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

std::optional<MaskMode> parse_mask_mode(std::string_view text) {
  if (text == "none") return MaskMode::kNone;
  if (text == "redact") return MaskMode::kRedact;
  if (text == "partial") return MaskMode::kPartial;
  if (text == "hash") return MaskMode::kHash;
  return std::nullopt;
}

const char* to_string(MaskMode mode) {
  switch (mode) {
    case MaskMode::kNone:
      return "none";
    case MaskMode::kRedact:
      return "redact";
    case MaskMode::kPartial:
      return "partial";
    case MaskMode::kHash:
      return "hash";
  }
  return "unknown";
}

}  // namespace user_export
