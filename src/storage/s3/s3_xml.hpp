#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace user_export {

/// Minimal reading of the small, flat XML documents S3 answers with (errors, UploadId, upload
/// listings). Not a general XML parser: no attributes, CDATA or comments are interpreted, which
/// S3's responses do not need.

/// The text of the first `<tag>…</tag>` element, entities decoded; nullopt when absent.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag);

/// The raw inner XML of every `<tag>…</tag>` element, in document order (for repeated blocks such
/// as `<Upload>` in a ListMultipartUploads answer).
std::vector<std::string_view> xml_blocks(std::string_view xml, std::string_view tag);

/// Escapes `& < > " '` for use in element text.
std::string xml_escape(std::string_view text);

/// Decodes the five predefined entities and numeric character references (`&#34;`, `&#x22;`).
std::string xml_unescape(std::string_view text);

}  // namespace user_export
