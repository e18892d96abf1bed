#include "observe/log.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <cstdio>

#include "common/escape.hpp"
#include "common/utf8.hpp"

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
  if (is_valid_utf8(text)) {
    append_escaped(out, text);
  } else {  // every line must parse: ill-formed bytes become U+FFFD first
    std::string repaired;
    replace_invalid_utf8(text, repaired);
    append_escaped(out, repaired);
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
