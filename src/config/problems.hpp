#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace user_export::config_detail {

/// Collects the problems found in one configuration so they can be reported together, each
/// prefixed with the file, the line and the key it is about. Keys are dotted TOML paths such as
/// `store.s3.part_size_mib` or `csv.columns[2].mask`. Not thread-safe; one per load.
class Problems {
 public:
  /// `source` names the configuration in every message (usually the file's path).
  explicit Problems(std::string source);

  /// Records that `key` (a value or a table) was written on `line` of the file.
  void locate(const std::string& key, int line);
  /// Records that `key` was set by the environment variable `variable` (this wins over a line).
  void set_by_environment(const std::string& key, std::string variable);

  /// Adds a problem with `key`, located at the key's line, or at its nearest enclosing table's
  /// line when the key itself is absent. `text` says what is wrong and what to do.
  void add(const std::string& key, std::string_view text);
  /// Adds a problem at an explicit line (0 = no line).
  void add_at(int line, const std::string& key, std::string_view text);

  /// Whether no problem was added.
  bool empty() const { return items_.empty(); }
  /// Throws Error(kConfig) listing every problem, one per line, in file order, if any.
  void throw_if_any() const;

 private:
  struct Origin {
    int line = 0;
    std::string variable;
  };
  struct Item {
    int line = 0;
    std::string text;
  };

  std::string source_;
  std::map<std::string, Origin, std::less<>> origins_;
  std::vector<Item> items_;
};

}  // namespace user_export::config_detail
