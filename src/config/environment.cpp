#include "config/environment.hpp"

#include <unistd.h>

namespace user_export {

Environment::Environment(std::map<std::string, std::string> values)
    : values_(values.begin(), values.end()) {}

Environment::Environment(std::initializer_list<std::pair<const std::string, std::string>> values)
    : values_(values.begin(), values.end()) {}

Environment Environment::from_process() {
  std::map<std::string, std::string> values;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    values.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return Environment(std::move(values));
}

std::optional<std::string> Environment::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace user_export
