#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace user_export {

/// What tells one process apart from every other, on any machine and in any container: the
/// host name alone does not (containers may share it), nor does the pid (each PID namespace
/// counts from 1, and pids are reused).
struct ProcessIdentity {
  std::string host;               ///< gethostname()
  std::string boot;               ///< the kernel's boot id, 12 hex digits (one per boot)
  std::uint64_t pid_ns = 0;       ///< inode of the PID namespace (/proc/self/ns/pid)
  long pid = 0;                   ///< in that namespace
  std::uint64_t start_ticks = 0;  ///< process start, clock ticks after boot (/proc/PID/stat)

  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

/// This process.
ProcessIdentity this_process();

/// `<host>:<pid>:<start ticks>:<boot>:<pid namespace>`, e.g.
/// `web-1:7:1234567:6f1c2e0a9b3d:4026532845`.
std::string format_instance_id(const ProcessIdentity& identity);
/// The identity in a name format_instance_id() made; nullopt for any other name (an older
/// `host:pid`, or an instance_id set in the configuration).
std::optional<ProcessIdentity> parse_instance_id(std::string_view id);

/// The default lease-owner name of this process: format_instance_id(this_process()).
std::string default_instance_id();

/// The start ticks of process `pid` in this PID namespace, or nullopt when there is none.
using StartTimeProbe = std::function<std::optional<std::uint64_t>(long pid)>;
/// Reads /proc/PID/stat.
std::optional<std::uint64_t> proc_start_ticks(long pid);

/// Whether `owner` names a process that is provably gone: its name must be one of
/// format_instance_id() with this host, this boot and this PID namespace, and `probe` must
/// find no process with its pid, or one that started at another time (the pid was reused).
/// Anything else — another host or container, another boot, a name in another form, this very
/// process — is never declared dead: its lease expires instead.
bool owner_is_dead(std::string_view owner, const ProcessIdentity& self,
                   const StartTimeProbe& probe);
/// owner_is_dead() for this process, probing /proc.
bool local_owner_is_dead(const std::string& owner);

}  // namespace user_export
