#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "format/byte_sink.hpp"
#include "format/masker.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Streaming RFC 4180 encoder: fields containing the separator, quotes, CR or LF are quoted and
/// quotes doubled; NULL is an empty field; UTF-8 passes through untouched. Masking and the
/// formula-injection guard are applied per cell; the optional schema-version column comes
/// last. Output is buffered and handed to the sink in large blocks. Not thread-safe.
class CsvWriter {
 public:
  CsvWriter(const CsvConfig& config, Masker masker, ByteSink& sink);
  /// Writes the header row (when the config asks for one).
  void write_header();
  /// Writes one data row; `row` has one value per configured column, in order.
  void write_row(RowView row);
  /// Flushes buffered bytes to the sink.
  void flush();
  /// Data rows written so far.
  std::int64_t rows() const { return rows_; }

 private:
  void append_cell(std::string_view value);
  const CsvConfig& config_;
  Masker masker_;
  ByteSink& sink_;
  std::string buffer_;
  std::int64_t rows_ = 0;
};

}  // namespace user_export
