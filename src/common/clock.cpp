#include "common/clock.hpp"

#include <thread>

#include "common/secure_random.hpp"

namespace user_export {

void ThreadSleeper::sleep_for(Duration d) {
  std::this_thread::sleep_for(d);
}

std::uint64_t SystemRandom::next_u64() {
  std::uint64_t value = 0;
  fill_secure_random(&value, sizeof value);
  return value;
}

}  // namespace user_export
