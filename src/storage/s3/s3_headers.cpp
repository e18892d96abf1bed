#include "storage/s3/s3_headers.hpp"

#include <cctype>

#include "common/error.hpp"

namespace user_export {
namespace {

/// Trims and collapses runs of spaces; throws for bytes a header cannot carry.
std::string header_value(std::string_view what, std::string_view value) {
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      out.push_back(' ');
      continue;
    }
    if (c < 0x20 || c > 0x7E) {
      throw Error(ErrorCode::kStorage,
                  "S3 " + std::string(what) +
                      " contains a control character or non-ASCII byte, which an HTTP header "
                      "cannot carry; use printable ASCII (percent- or base64-encode other text)",
                  false);
    }
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(ch);
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

S3Headers s3_object_headers(std::string_view content_type,
                            const std::map<std::string, std::string>& metadata) {
  S3Headers headers;
  std::string type = header_value("content type", content_type);
  if (!type.empty()) headers.emplace_back("Content-Type", type);
  for (const auto& [name, value] : metadata) {
    std::string lower;
    for (const char ch : name) {
      const auto c = static_cast<unsigned char>(ch);
      if (std::isalnum(c) == 0 && c != '-' && c != '_') {
        throw Error(ErrorCode::kStorage,
                    "S3 metadata name '" + name +
                        "' is not usable in an x-amz-meta- header: use letters, digits, '-' and "
                        "'_'",
                    false);
      }
      lower.push_back(static_cast<char>(std::tolower(c)));
    }
    if (lower.empty()) {
      throw Error(ErrorCode::kStorage, "S3 metadata has an entry with an empty name", false);
    }
    std::string v = header_value("metadata value of '" + name + "'", value);
    if (!v.empty()) headers.emplace_back("x-amz-meta-" + lower, std::move(v));
  }
  return headers;
}

}  // namespace user_export
