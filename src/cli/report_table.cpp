#include "cli/report_table.hpp"

#include <fmt/format.h>

namespace user_export {
namespace {

std::string short_path(const GroupResult& g, const std::filesystem::path& relative_to) {
  if (!g.file) return "-";
  const std::string& url = g.file->url;
  const std::string prefix = "file://";
  if (!relative_to.empty() && url.rfind(prefix, 0) == 0) {
    std::filesystem::path p = url.substr(prefix.size());
    auto rel = p.lexically_relative(relative_to);
    if (!rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
  }
  return url;
}

}  // namespace

void print_report_table(std::ostream& out, const std::vector<GroupResult>& groups,
                        const std::filesystem::path& relative_to) {
  out << fmt::format("{:<36}  {:<14}  {:<9}  {:>9}  {:>4}  {:>10}  {:>7}  {}\n", "group", "type",
                     "state", "rows", "msgs", "bytes", "seconds", "file");
  for (const auto& g : groups) {
    out << fmt::format("{:<36}  {:<14}  {:<9}  {:>9}  {:>4}  {:>10}  {:>7.3f}  {}\n",
                       g.group.id.str(), g.group.type_name.substr(0, 14),
                       g.failed() ? "FAILED" : to_string(g.state), g.rows, g.messages,
                       g.file ? std::to_string(g.file->bytes) : std::string("-"), g.seconds,
                       short_path(g, relative_to));
    if (g.failed()) out << "    error: " << g.error << "\n";
  }
}

}  // namespace user_export
