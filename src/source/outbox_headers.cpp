#include "source/outbox_headers.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace user_export {

std::string headers_to_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const auto& [name, value] : headers) object[name] = value;
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<std::pair<std::string, std::string>> headers_from_json(std::string_view text,
                                                                   std::int64_t outbox_id) {
  auto object = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!object.is_object()) {
    throw Error(ErrorCode::kDatabase, "outbox message " + std::to_string(outbox_id) +
                                          " has headers that are not a JSON object; fix or "
                                          "dead-letter the row in export_outbox");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : object.items()) {
    out.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

}  // namespace user_export
