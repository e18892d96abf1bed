#include "observe/log.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <cstdio>

namespace user_export::log {
namespace {

std::atomic<bool> g_json{false};
thread_local const Fields* t_fields = nullptr;

/// True when a text-mode value must be quoted to stay one unambiguous token.
bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xe  ? 3
                  : (c >> 3) == 0x1e ? 4
                                     : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;  // overlong
  return n;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k) {
  if (std::isfinite(v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    value = buf;
    number = true;
  } else {
    value = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
  }
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

std::string render_text(std::string_view msg, const Fields& fields) {
  std::string out(msg);
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (f.number || !needs_quotes(f.value)) {
      out += f.value;
    } else {
      out += '"';
      out += json_escape(f.value);
      out += '"';
    }
  }
  return out;
}

void set_json(bool json) {
  g_json.store(json, std::memory_order_relaxed);
}

const Fields* current_fields() {
  return t_fields;
}

void write(spdlog::level::level_enum level, std::string_view msg, const Fields& fields) {
  auto logger = spdlog::default_logger_raw();
  if (logger == nullptr || !logger->should_log(level)) return;
  if (!g_json.load(std::memory_order_relaxed)) {
    logger->log(level, "{}", render_text(msg, fields));
    return;
  }
  // The JSON formatter runs synchronously inside log() on this thread and reads the fields.
  struct Reset {
    ~Reset() { t_fields = nullptr; }
  } reset;
  t_fields = &fields;
  logger->log(level, "{}", msg);
}

}  // namespace user_export::log
