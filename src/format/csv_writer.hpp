#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "format/byte_sink.hpp"
#include "format/masker.hpp"
#include "source/repository.hpp"

namespace user_export {

/// Streaming RFC 4180 encoder. The wire format, a public contract:
///  - UTF-8 passes through byte for byte; records end with the configured line ending (`\n` or
///    `\r\n`); fields are separated by `,`; there is no trailing separator.
///  - A field is quoted (and its `"` doubled) iff it contains `,`, `"`, CR or LF, begins or ends
///    with a space or TAB (so trimming readers cannot change it), or is the empty string.
///  - NULL is an empty unquoted field and the empty string is `""`, so the two stay distinct
///    (the convention of PostgreSQL's CSV COPY).
///  - With CsvConfig::formula_guard, a cell whose (masked) value starts with `=`, `+`, `-`, `@`,
///    TAB or CR gets a leading `'` so spreadsheets do not evaluate it; header cells are not
///    guarded.
///  - With CsvConfig::schema_version_column, a last column `schema_version` carries
///    kSchemaVersion in every row.
/// Masking is applied per cell before the guard and quoting. Output is collected in a fixed
/// buffer and handed to the sink in blocks of the buffer's size (fields larger than the buffer
/// go to the sink directly); encoding allocates nothing per row. Bytes still buffered when the
/// writer is destroyed are dropped: call flush() before finishing the sink. Not thread-safe.
class CsvWriter {
 public:
  /// Size of the output buffer unless the constructor is told otherwise.
  static constexpr std::size_t kDefaultBufferSize = 256 * 1024;

  /// Copies what it needs from `config`; `sink` must outlive the writer. Throws Error(kConfig)
  /// for a line ending other than `\n`/`\r\n` or an empty column list, and Error(kInternal) if
  /// `masker` was built for a different number of columns.
  CsvWriter(const CsvConfig& config, Masker masker, ByteSink& sink,
            std::size_t buffer_size = kDefaultBufferSize);
  /// Writes the header row (when the config asks for one). Call it before the first row.
  void write_header();
  /// Writes one data row; `row` has one value per configured column, in order. Throws
  /// Error(kInternal) for a row of the wrong width; sink errors propagate.
  void write_row(RowView row);
  /// Flushes buffered bytes to the sink.
  void flush();
  /// Data rows written so far.
  std::int64_t rows() const { return rows_; }
  /// CSV bytes produced so far, flushed or still buffered.
  std::int64_t bytes() const { return flushed_ + static_cast<std::int64_t>(used_); }

 private:
  void append_cell(std::string_view value, bool guard);
  void append(const char* data, std::size_t size);
  void append(std::string_view s) { append(s.data(), s.size()); }
  void put(char c) {
    if (used_ == capacity_) flush();
    buffer_[used_++] = c;
  }

  std::vector<std::string> headers_;
  std::string line_ending_;
  bool header_;
  bool formula_guard_;
  bool schema_version_column_;
  Masker masker_;
  ByteSink& sink_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::int64_t flushed_ = 0;
  std::int64_t rows_ = 0;
  bool header_written_ = false;
};

}  // namespace user_export
