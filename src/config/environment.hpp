#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace user_export {

/// A read-only view of environment variables, injected wherever the environment is read so
/// tests control it. An Environment is an immutable snapshot: it is safe to share between
/// threads, and later changes to the process environment do not show through it.
class Environment {
 public:
  /// An empty environment (no variable is set).
  Environment() = default;
  /// An environment holding exactly `values` (name to value); used by tests.
  explicit Environment(std::map<std::string, std::string> values);
  /// An environment holding exactly `values`, e.g. `Environment({{"USER_EXPORT_DOMAIN_ID", id}})`.
  Environment(std::initializer_list<std::pair<const std::string, std::string>> values);

  /// A snapshot of the process environment at the time of the call.
  static Environment from_process();

  /// The value of `name`, or nullopt when it is not set. An empty value is returned as "".
  std::optional<std::string> get(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace user_export
