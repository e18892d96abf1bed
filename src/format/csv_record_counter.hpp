#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace user_export {

/// Counts the records of a gzip-compressed CSV fed to it in chunks (`verify` reads objects
/// back with it), holding one decompression window, never the file. Records are CSV records,
/// not lines: a line break inside a quoted value (`"…"`, quotes doubled inside) does not end a
/// record, so the count is the CSV writer's row count (plus its header). Several gzip members
/// one after the other are read as one stream.
class GzipCsvRecordCounter {
 public:
  GzipCsvRecordCounter();
  ~GzipCsvRecordCounter();
  GzipCsvRecordCounter(const GzipCsvRecordCounter&) = delete;
  GzipCsvRecordCounter& operator=(const GzipCsvRecordCounter&) = delete;

  /// Decompresses and counts `compressed`, the next bytes of the file. Throws
  /// Error(kInvalidInput) naming the problem when they are not valid gzip (a damaged block, a
  /// wrong CRC or length).
  void feed(std::string_view compressed);
  /// The records of the whole file. Throws Error(kInvalidInput) when the gzip stream ended
  /// early (a truncated file) or no byte was fed.
  std::int64_t finish();

 private:
  void count(std::string_view text);

  struct State;
  std::unique_ptr<State> state_;
  std::int64_t records_ = 0;
  bool in_quotes_ = false;
  bool open_record_ = false;  ///< bytes after the last record end
};

}  // namespace user_export
