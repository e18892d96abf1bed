#pragma once

#include <string_view>

namespace user_export {

/// Where encoded bytes go (a gzip file, a buffer in tests). Not thread-safe.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  /// Appends bytes; throws Error(kIo) on failure (disk full, closed sink).
  virtual void write(std::string_view bytes) = 0;
};

}  // namespace user_export
