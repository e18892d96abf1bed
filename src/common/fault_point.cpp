#include "common/fault_point.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>

#include "common/error.hpp"

namespace user_export {
namespace {

enum class Action { kKill, kFail, kStop };

struct Fault {
  std::string name;
  Action action = Action::kKill;
  int nth = 1;
  int seen = 0;
};

std::mutex g_mu;
Fault g_fault;
std::atomic<bool> g_armed{false};
std::once_flag g_env_once;

void parse_into(const std::string& spec, Fault& out) {
  out = Fault{};
  std::string rest = spec;
  if (auto at = rest.find('@'); at != std::string::npos) {
    out.nth = std::max(1, std::atoi(rest.c_str() + at + 1));
    rest.resize(at);
  }
  if (auto colon = rest.find(':'); colon != std::string::npos) {
    const std::string action = rest.substr(colon + 1);
    out.action = action == "fail"   ? Action::kFail
                 : action == "stop" ? Action::kStop
                                    : Action::kKill;
    rest.resize(colon);
  }
  out.name = rest;
}

void load_from_env() {
  const char* spec = std::getenv("USER_EXPORT_FAULT");
  if (spec == nullptr || *spec == '\0') return;
  std::lock_guard lock(g_mu);
  parse_into(spec, g_fault);
  g_armed.store(true, std::memory_order_release);
}

}  // namespace

void fault_point(std::string_view name) {
  std::call_once(g_env_once, load_from_env);
  if (!g_armed.load(std::memory_order_acquire)) return;
  Action action = Action::kFail;
  {
    std::lock_guard lock(g_mu);
    if (g_fault.name != name || ++g_fault.seen != g_fault.nth) return;
    g_armed.store(false, std::memory_order_release);
    action = g_fault.action;
  }
  if (action == Action::kKill) std::raise(SIGKILL);
  if (action == Action::kStop) {
    std::raise(SIGSTOP);  // every thread stops here until SIGCONT, as a paused process does
    return;
  }
  throw Error(ErrorCode::kInternal, "injected fault at " + std::string(name), true);
}

void set_fault(const std::string& spec) {
  std::call_once(g_env_once, [] {});
  std::lock_guard lock(g_mu);
  if (spec.empty()) {
    g_fault = Fault{};
    g_armed.store(false, std::memory_order_release);
    return;
  }
  parse_into(spec, g_fault);
  g_armed.store(true, std::memory_order_release);
}

}  // namespace user_export
