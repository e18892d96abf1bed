#include "format/csv_writer.hpp"

#include <array>
#include <cstring>
#include <utility>

#include "common/error.hpp"
#include "domain/message.hpp"

namespace user_export {

namespace {

constexpr std::string_view kSchemaVersionHeader = "schema_version";

/// Bytes that force a field to be quoted wherever they occur.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('"')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  return t;
}();

/// First bytes that make a spreadsheet treat a cell as a formula.
constexpr std::array<bool, 256> kFormulaStart = [] {
  std::array<bool, 256> t{};
  for (char c : {'=', '+', '-', '@', '\t', '\r'}) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

/// Non-zero iff some byte of `w` is zero (the classic SWAR test; exact, no false positives).
constexpr std::uint64_t has_zero_byte(std::uint64_t w) {
  return (w - kOnes) & ~w & kHighs;
}

/// Whether `s` contains `,`, `"`, CR or LF. Eight bytes are tested per step, the tail with a
/// lookup table.
bool contains_special(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t hit = has_zero_byte(w ^ (kOnes * ',')) | has_zero_byte(w ^ (kOnes * '"')) |
                              has_zero_byte(w ^ (kOnes * '\r')) | has_zero_byte(w ^ (kOnes * '\n'));
    if (hit != 0) return true;
    p += 8;
    n -= 8;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (kSpecial[static_cast<unsigned char>(p[i])]) return true;
  }
  return false;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool needs_quotes(std::string_view v) {
  return v.empty() || is_blank(v.front()) || is_blank(v.back()) || contains_special(v);
}

}  // namespace

CsvWriter::CsvWriter(const CsvConfig& config, Masker masker, ByteSink& sink,
                     std::size_t buffer_size)
    : line_ending_(config.line_ending),
      header_(config.header),
      formula_guard_(config.formula_guard),
      schema_version_column_(config.schema_version_column),
      masker_(std::move(masker)),
      sink_(sink),
      capacity_(buffer_size) {
  if (line_ending_ != "\n" && line_ending_ != "\r\n") {
    throw Error(ErrorCode::kConfig,
                "csv.line_ending must be \"\\n\" or \"\\r\\n\"; fix the [csv] section");
  }
  if (config.columns.empty()) {
    throw Error(ErrorCode::kConfig, "csv.columns is empty; list at least one column to export");
  }
  if (masker_.columns() != config.columns.size()) {
    throw Error(ErrorCode::kInternal,
                "masker has " + std::to_string(masker_.columns()) + " columns but the CSV has " +
                    std::to_string(config.columns.size()) +
                    "; build it with Masker::for_columns from the same config");
  }
  if (capacity_ == 0) {
    throw Error(ErrorCode::kInternal, "CsvWriter buffer size must be positive");
  }
  headers_.reserve(config.columns.size());
  for (const auto& c : config.columns) headers_.push_back(c.header.empty() ? c.source : c.header);
  buffer_ = std::make_unique<char[]>(capacity_);
}

void CsvWriter::write_header() {
  if (rows_ != 0 || header_written_) {
    throw Error(ErrorCode::kInternal,
                "CsvWriter::write_header called after rows or twice; call it once, first");
  }
  header_written_ = true;
  if (!header_) return;
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    if (i != 0) put(',');
    append_cell(headers_[i], false);
  }
  if (schema_version_column_) {
    put(',');
    append_cell(kSchemaVersionHeader, false);
  }
  append(line_ending_);
}

void CsvWriter::write_row(RowView row) {
  if (row.size() != headers_.size()) {
    throw Error(ErrorCode::kInternal,
                "CSV row has " + std::to_string(row.size()) + " values but " +
                    std::to_string(headers_.size()) +
                    " columns are configured; the source query and csv.columns disagree");
  }
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i != 0) put(',');
    const auto masked = masker_.apply(i, row[i]);
    if (masked) append_cell(*masked, formula_guard_);
  }
  if (schema_version_column_) {
    put(',');
    append_cell(kSchemaVersion, false);
  }
  append(line_ending_);
  ++rows_;
}

void CsvWriter::flush() {
  if (used_ == 0) return;
  sink_.write(std::string_view(buffer_.get(), used_));
  flushed_ += static_cast<std::int64_t>(used_);
  used_ = 0;
}

void CsvWriter::append_cell(std::string_view value, bool guard) {
  const bool guarded =
      guard && !value.empty() && kFormulaStart[static_cast<unsigned char>(value[0])];
  if (!needs_quotes(value)) {
    if (guarded) put('\'');
    append(value);
    return;
  }
  put('"');
  if (guarded) put('\'');
  // Copy up to and including each quote, then write the quote a second time.
  while (!value.empty()) {
    const void* q = std::memchr(value.data(), '"', value.size());
    if (q == nullptr) break;
    const std::size_t n = static_cast<std::size_t>(static_cast<const char*>(q) - value.data()) + 1;
    append(value.data(), n);
    put('"');
    value.remove_prefix(n);
  }
  append(value);
  put('"');
}

void CsvWriter::append(const char* data, std::size_t size) {
  if (size == 0) return;  // an empty view may carry a null pointer, which memcpy must not see
  const std::size_t room = capacity_ - used_;
  if (size <= room) {
    std::memcpy(buffer_.get() + used_, data, size);
    used_ += size;
    return;
  }
  // Top the buffer up so the sink sees full blocks, then pass what is still at least a whole
  // buffer straight through and keep the rest.
  std::memcpy(buffer_.get() + used_, data, room);
  used_ = capacity_;
  data += room;
  size -= room;
  flush();
  if (size >= capacity_) {
    sink_.write(std::string_view(data, size));
    flushed_ += static_cast<std::int64_t>(size);
    return;
  }
  std::memcpy(buffer_.get(), data, size);
  used_ = size;
}

}  // namespace user_export
