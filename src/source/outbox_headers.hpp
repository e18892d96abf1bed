#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace user_export {

/// Message headers as stored in `export_outbox.headers`: one JSON object, in header order.
/// Shared by every backend so the column means the same everywhere.
std::string headers_to_json(const std::vector<std::pair<std::string, std::string>>& headers);

/// Parses `export_outbox.headers` of outbox row `outbox_id`; throws Error(kDatabase) naming the
/// row when it is not a JSON object.
std::vector<std::pair<std::string, std::string>> headers_from_json(std::string_view text,
                                                                   std::int64_t outbox_id);

}  // namespace user_export
