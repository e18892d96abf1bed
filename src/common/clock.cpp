#include "common/clock.hpp"

#include <random>
#include <thread>

namespace user_export {

void ThreadSleeper::sleep_for(Duration d) {
  std::this_thread::sleep_for(d);
}

std::uint64_t SystemRandom::next_u64() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

}  // namespace user_export
