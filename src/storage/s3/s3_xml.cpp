#include "storage/s3/s3_xml.hpp"

#include <charconv>
#include <cstdint>

namespace user_export {
namespace {

/// Finds the next element `<tag>` or `<tag attr…>` at or after `from`; returns the position just
/// past its `>`, or npos. A self-closing `<tag/>` yields an empty element.
std::size_t find_open(std::string_view xml, std::string_view tag, std::size_t from,
                      bool& self_closing) {
  for (;;) {
    const auto lt = xml.find('<', from);
    if (lt == std::string_view::npos) return std::string_view::npos;
    const auto name_end = lt + 1 + tag.size();
    if (xml.compare(lt + 1, tag.size(), tag) == 0 && name_end < xml.size() &&
        (xml[name_end] == '>' || xml[name_end] == ' ' || xml[name_end] == '/' ||
         xml[name_end] == '\t' || xml[name_end] == '\n' || xml[name_end] == '\r')) {
      const auto gt = xml.find('>', name_end);
      if (gt == std::string_view::npos) return std::string_view::npos;
      self_closing = xml[gt - 1] == '/';
      return gt + 1;
    }
    from = lt + 1;
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::vector<std::string_view> xml_blocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> blocks;
  const std::string close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  for (;;) {
    bool self_closing = false;
    const auto start = find_open(xml, tag, pos, self_closing);
    if (start == std::string_view::npos) break;
    if (self_closing) {
      blocks.emplace_back();
      pos = start;
      continue;
    }
    const auto end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    blocks.push_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return blocks;
}

std::optional<std::string> xml_text(std::string_view xml, std::string_view tag) {
  const auto blocks = xml_blocks(xml, tag);
  if (blocks.empty()) return std::nullopt;
  return xml_unescape(blocks.front());
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto amp = text.find('&', i);
    const auto semi = amp == std::string_view::npos ? amp : text.find(';', amp);
    if (amp == std::string_view::npos || semi == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, amp - i));
    const auto entity = text.substr(amp + 1, semi - amp - 1);
    bool decoded = true;
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const auto digits = entity.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      decoded = ec == std::errc() && ptr == digits.data() + digits.size() && !digits.empty() &&
                cp <= 0x10FFFF;
      if (decoded) append_utf8(out, cp);
    } else {
      decoded = false;
    }
    if (!decoded) out.append(text.substr(amp, semi - amp + 1));
    i = semi + 1;
  }
  return out;
}

}  // namespace user_export
