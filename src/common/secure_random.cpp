#include "common/secure_random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.hpp"

namespace user_export {

void fill_secure_random(void* out, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    const ssize_t n = getrandom(bytes, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kInternal, std::string("getrandom failed: ") + std::strerror(errno));
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace user_export
