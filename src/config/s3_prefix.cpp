#include "config/s3_prefix.hpp"

namespace user_export::config_detail {

std::optional<std::string> s3_prefix_problem(std::string_view prefix) {
  if (prefix.starts_with("/")) {
    return "has an empty path segment (it starts with a slash); write s3://bucket/prefix with "
           "single slashes";
  }
  if (prefix.ends_with("/")) prefix.remove_suffix(1);
  if (prefix.empty()) return std::nullopt;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t slash = prefix.find('/', begin);
    const std::string_view segment = prefix.substr(begin, slash - begin);
    if (segment.empty()) {
      return "has an empty path segment; write s3://bucket/prefix with single slashes";
    }
    if (segment == "." || segment == "..") {
      return "has a '" + std::string(segment) +
             "' path segment; write the prefix without . or .. segments";
    }
    if (slash == std::string_view::npos) return std::nullopt;
    begin = slash + 1;
  }
}

}  // namespace user_export::config_detail
