#include "common/process_owner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace user_export {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

std::string default_instance_id() {
  return hostname() + ":" + std::to_string(getpid());
}

bool local_owner_is_dead(const std::string& owner) {
  auto colon = owner.rfind(':');
  if (colon == std::string::npos || owner.substr(0, colon) != hostname()) return false;
  long pid = 0;
  const char* begin = owner.data() + colon + 1;
  const char* end = owner.data() + owner.size();
  auto [ptr, ec] = std::from_chars(begin, end, pid);
  if (ec != std::errc{} || ptr != end || pid <= 0) return false;
  if (pid == getpid()) return false;
  return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace user_export
