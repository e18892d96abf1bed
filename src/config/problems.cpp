#include "config/problems.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace user_export::config_detail {

Problems::Problems(std::string source) : source_(std::move(source)) {}

void Problems::locate(const std::string& key, int line) {
  origins_[key].line = line;
}

void Problems::set_by_environment(const std::string& key, std::string variable) {
  origins_[key].variable = std::move(variable);
}

void Problems::add(const std::string& key, std::string_view text) {
  auto it = origins_.find(key);
  if (it != origins_.end() && !it->second.variable.empty()) {
    items_.push_back(Item{
        0, source_ + ": " + key + " (set by " + it->second.variable + "): " + std::string(text)});
    return;
  }
  // Walk up from `a.b[1].c` to `a.b[1]`, `a.b`, `a` until some part of the path has a line.
  std::string path = key;
  while (!path.empty()) {
    auto found = origins_.find(path);
    if (found != origins_.end() && found->second.line > 0) {
      add_at(found->second.line, key, text);
      return;
    }
    auto cut = path.find_last_of(".[");
    path = cut == std::string::npos ? std::string() : path.substr(0, cut);
  }
  add_at(0, key, text);
}

void Problems::add_at(int line, const std::string& key, std::string_view text) {
  std::string where = source_;
  if (line > 0) where += ":" + std::to_string(line);
  items_.push_back(Item{line, where + ": " + key + ": " + std::string(text)});
}

void Problems::throw_if_any() const {
  if (items_.empty()) return;
  std::vector<Item> sorted = items_;
  // File order first; problems without a line (environment, missing keys) after them.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Item& a, const Item& b) {
    if ((a.line == 0) != (b.line == 0)) return b.line == 0;
    return a.line < b.line;
  });
  std::string message;
  for (const auto& item : sorted) {
    if (!message.empty()) message += '\n';
    message += item.text;
  }
  throw Error(ErrorCode::kConfig, message);
}

}  // namespace user_export::config_detail
