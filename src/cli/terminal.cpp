#include "cli/terminal.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace user_export {

Progress::Progress(std::string label) : label_(std::move(label)) {}

Progress::~Progress() {
  finish();
}

bool Progress::enabled() {
  static const bool tty = isatty(STDERR_FILENO) == 1;
  return tty;
}

void Progress::update(std::int64_t done, std::int64_t total, const std::string& detail) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  if (drawn_ && done < total && now_ms - last_draw_ms_ < 100) return;
  last_draw_ms_ = now_ms;
  int pct = total > 0 ? static_cast<int>(done * 100 / total) : 100;
  std::fprintf(stderr, "\r\033[K%s %lld/%lld (%d%%)%s%s", label_.c_str(),
               static_cast<long long>(done), static_cast<long long>(total), pct,
               detail.empty() ? "" : " ", detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  std::lock_guard lock(mu_);
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace user_export
