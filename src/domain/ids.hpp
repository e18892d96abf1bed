#pragma once

#include <string>
#include <string_view>

#include "common/uuid.hpp"

namespace user_export {

/// A strongly typed UUID identifier. `Tag` keeps domain ids and group ids from mixing.
template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(Uuid value) : value_(value) {}

  /// Parses a canonical UUID; throws Error(kInvalidInput) naming `what` and the bad text, e.g.
  /// "invalid domain id 'abc': expected a UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301".
  static Id parse(std::string_view text);

  /// Canonical lower-case text of the UUID.
  std::string str() const { return value_.str(); }
  /// The underlying UUID.
  const Uuid& uuid() const { return value_; }

  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;

 private:
  Uuid value_;
};

struct DomainIdTag {
  static constexpr const char* kWhat = "domain id";
};
struct GroupIdTag {
  static constexpr const char* kWhat = "group id";
};

/// The tenant whose groups are exported.
using DomainId = Id<DomainIdTag>;
/// A matching group.
using GroupId = Id<GroupIdTag>;

/// Throws the parse error for `Id<Tag>::parse`; shared by both instantiations.
[[noreturn]] void throw_invalid_id(const char* what, std::string_view text);

template <typename Tag>
Id<Tag> Id<Tag>::parse(std::string_view text) {
  auto uuid = Uuid::parse(text);
  if (!uuid || uuid->is_nil()) throw_invalid_id(Tag::kWhat, text);
  return Id<Tag>(*uuid);
}

}  // namespace user_export
