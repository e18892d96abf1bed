#include "common/process_owner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace user_export {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string text;
  std::getline(in, text);
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  return hex.size() >= 12 ? hex.substr(0, 12) : "unknown";
}

std::uint64_t pid_namespace() {
  struct stat st {};
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

std::optional<std::uint64_t> proc_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // After the command name in parentheses: state is field 3, starttime field 22.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  std::uint64_t ticks = 0;
  if (!parse_number(field, ticks)) return std::nullopt;
  return ticks;
}

ProcessIdentity this_process() {
  static const ProcessIdentity self = [] {
    ProcessIdentity id;
    id.host = hostname();
    id.boot = boot_id();
    id.pid_ns = pid_namespace();
    id.pid = getpid();
    id.start_ticks = proc_start_ticks(id.pid).value_or(0);
    return id;
  }();
  // A forked child is another process: it keeps the host, boot and namespace.
  if (self.pid != getpid()) {
    ProcessIdentity child = self;
    child.pid = getpid();
    child.start_ticks = proc_start_ticks(child.pid).value_or(0);
    return child;
  }
  return self;
}

std::string format_instance_id(const ProcessIdentity& id) {
  return id.host + ":" + std::to_string(id.pid) + ":" + std::to_string(id.start_ticks) + ":" +
         id.boot + ":" + std::to_string(id.pid_ns);
}

std::optional<ProcessIdentity> parse_instance_id(std::string_view text) {
  std::vector<std::string_view> parts;
  for (int i = 0; i < 4; ++i) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    parts.push_back(text.substr(colon + 1));
    text = text.substr(0, colon);
  }
  ProcessIdentity id;
  id.host = std::string(text);
  id.boot = std::string(parts[1]);
  if (id.host.empty() || id.boot.size() != 12 || !parse_number(parts[0], id.pid_ns) ||
      !parse_number(parts[2], id.start_ticks) || !parse_number(parts[3], id.pid) || id.pid <= 0) {
    return std::nullopt;
  }
  return id;
}

std::string default_instance_id() {
  return format_instance_id(this_process());
}

bool owner_is_dead(std::string_view owner, const ProcessIdentity& self,
                   const StartTimeProbe& probe) {
  const auto id = parse_instance_id(owner);
  if (!id || id->host != self.host || id->boot != self.boot || id->pid_ns != self.pid_ns ||
      self.pid_ns == 0 || self.boot == "unknown") {
    return false;
  }
  if (*id == self) return false;
  const auto started = probe(id->pid);
  return !started || *started != id->start_ticks;
}

bool local_owner_is_dead(const std::string& owner) {
  return owner_is_dead(owner, this_process(), proc_start_ticks);
}

}  // namespace user_export
