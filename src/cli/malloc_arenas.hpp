// How many malloc arenas the process keeps (docs/ARCHITECTURE.md, "Memory").
#pragma once

#include <optional>

namespace user_export {

/// The arena limit the process sets for glibc's malloc: 2, unless the operator set
/// MALLOC_ARENA_MAX (`variable`, its value or nullptr), which glibc then applies itself.
std::optional<int> malloc_arena_limit(const char* variable);

/// Applies malloc_arena_limit() of this process's environment; call first thing in main().
void limit_malloc_arenas();

}  // namespace user_export
