#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

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

/// A strongly typed text identifier. `Tag` keeps run ids and owner names from mixing: an
/// owner cannot be passed where a run id is expected, and neither is made from a string
/// without saying so. Comparison, ordering and hashing are those of the text.
template <typename Tag>
class TextId {
 public:
  TextId() = default;
  explicit TextId(std::string text) : text_(std::move(text)) {}
  explicit TextId(std::string_view text) : text_(text) {}
  explicit TextId(const char* text) : text_(text) {}

  /// The text, as stored and printed.
  const std::string& str() const { return text_; }
  /// The text as a view.
  std::string_view view() const { return text_; }
  /// The id of `text` given by a person, checked and made canonical by `Tag::canonical` (only
  /// for tags that have one: RunId).
  static TextId parse(std::string_view text) { return TextId(Tag::canonical(text)); }

  /// Whether there is no id (a default-constructed one).
  bool empty() const { return text_.empty(); }

  friend bool operator==(const TextId&, const TextId&) = default;
  friend auto operator<=>(const TextId&, const TextId&) = default;

  /// The text (for messages and logs).
  friend const std::string& to_string(const TextId& id) { return id.text_; }
  /// Writes the text.
  friend std::ostream& operator<<(std::ostream& os, const TextId& id) { return os << id.text_; }

 private:
  std::string text_;
};

struct RunIdTag {
  /// The canonical (lower-case) text of a run id given as `text`; throws Error(kInvalidInput)
  /// naming `text` when it is not a UUID.
  static std::string canonical(std::string_view text);
};
struct OwnerIdTag {};

/// A run (`export_runs.id`): UUID text, stable across the run's attempts. RunId::parse() is how
/// a run id given by a person (CLI, admin API) becomes one.
using RunId = TextId<RunIdTag>;
/// An owner: the name of an instance (or relay) that holds run leases and outbox claims.
using OwnerId = TextId<OwnerIdTag>;

/// Throws the parse error for `Id<Tag>::parse`; shared by both instantiations.
[[noreturn]] void throw_invalid_id(const char* what, std::string_view text);

template <typename Tag>
Id<Tag> Id<Tag>::parse(std::string_view text) {
  auto uuid = Uuid::parse(text);
  if (!uuid || uuid->is_nil()) throw_invalid_id(Tag::kWhat, text);
  return Id<Tag>(*uuid);
}

}  // namespace user_export

template <typename Tag>
struct std::hash<user_export::TextId<Tag>> {
  std::size_t operator()(const user_export::TextId<Tag>& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
