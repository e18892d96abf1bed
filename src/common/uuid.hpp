#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace user_export {

/// A 128-bit UUID in its canonical lower-case text form (8-4-4-4-12 hex digits).
class Uuid {
 public:
  /// Parses the canonical form, upper or lower case; nullopt for anything else (no braces,
  /// no missing dashes, no surrounding space).
  static std::optional<Uuid> parse(std::string_view text);
  /// A random (version 4) UUID drawn from `random`.
  static Uuid random(Random& random);

  /// Canonical lower-case text.
  std::string str() const;
  /// Whether all bits are zero (the nil UUID).
  bool is_nil() const;

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace user_export
