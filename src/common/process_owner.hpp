#pragma once

#include <string>

namespace user_export {

/// The default lease-owner name of this process: `<hostname>:<pid>`.
std::string default_instance_id();

/// Whether `owner`, a name of the form `<hostname>:<pid>`, names a process of this host that
/// no longer exists. Owners on other hosts, or in any other form, are never declared dead
/// (their leases expire instead). A reused pid makes a dead owner look alive, which only
/// delays a takeover until the lease expires — never the reverse.
bool local_owner_is_dead(const std::string& owner);

}  // namespace user_export
