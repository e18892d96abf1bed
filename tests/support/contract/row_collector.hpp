// A RowHandler for the Repository contract's tests that keeps every streamed row.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "source/repository.hpp"

namespace user_export::testing {

/// Collects every streamed row as owned strings.
struct RowCollector : RowHandler {
  std::vector<std::vector<std::optional<std::string>>> rows;
  void on_row(RowView row) override {
    auto& out = rows.emplace_back();
    for (const auto& value : row) {
      out.push_back(value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
    }
  }
};

}  // namespace user_export::testing
