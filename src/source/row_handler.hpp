#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace user_export {

/// One streamed row: one entry per requested column, nullopt for SQL NULL. The views are valid
/// only during the callback.
using RowView = std::span<const std::optional<std::string_view>>;

/// Receives streamed rows. Throwing from on_row aborts the stream (the exception propagates).
class RowHandler {
 public:
  virtual ~RowHandler() = default;
  virtual void on_row(RowView row) = 0;
};

}  // namespace user_export
