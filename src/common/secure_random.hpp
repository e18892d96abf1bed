#pragma once

#include <cstddef>

namespace user_export {

/// Fills `size` bytes at `out` from the kernel's cryptographically secure generator
/// (getrandom(2), which blocks only until the kernel's pool is first seeded at boot).
/// Throws Error(kInternal) if the kernel refuses.
void fill_secure_random(void* out, std::size_t size);

}  // namespace user_export
