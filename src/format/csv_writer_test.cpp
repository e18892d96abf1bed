#include "format/csv_writer.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/message.hpp"

namespace user_export {
namespace {

using namespace std::literals;
using Field = std::optional<std::string>;
using Record = std::vector<Field>;

/// Collects everything written, and the size of each write.
class StringSink final : public ByteSink {
 public:
  void write(std::string_view bytes) override {
    data.append(bytes);
    writes.push_back(bytes.size());
  }
  std::string data;
  std::vector<std::size_t> writes;
};

/// A sink whose backend is gone.
class FailingSink final : public ByteSink {
 public:
  void write(std::string_view) override {
    throw Error(ErrorCode::kIo, "disk full: cannot write staging file x", true);
  }
};

/// A strict RFC 4180 reader. Records end with exactly `eol`; an unquoted field may not contain
/// `"`, CR or LF; a quoted field's quotes are doubled and the closing quote is followed by `,`
/// or the end of the record; every record, the last included, is terminated. An unquoted empty
/// field reads as NULL, a quoted empty one as "". Any violation fails the test.
std::vector<Record> parse_csv(std::string_view in, std::string_view eol) {
  std::vector<Record> records;
  std::size_t i = 0;
  while (i < in.size()) {
    Record rec;
    for (;;) {
      Field field;
      if (i < in.size() && in[i] == '"') {
        std::string value;
        ++i;
        for (;;) {
          if (i >= in.size()) {
            ADD_FAILURE() << "unterminated quoted field at byte " << i;
            return records;
          }
          if (in[i] == '"') {
            if (i + 1 < in.size() && in[i + 1] == '"') {
              value.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          value.push_back(in[i++]);
        }
        field = std::move(value);
      } else {
        const std::size_t start = i;
        while (i < in.size() && in[i] != ',' && in.substr(i, eol.size()) != eol) {
          if (in[i] == '"' || in[i] == '\r' || in[i] == '\n') {
            ADD_FAILURE() << "bare quote, CR or LF in an unquoted field at byte " << i;
            return records;
          }
          ++i;
        }
        if (i > start) field = std::string(in.substr(start, i - start));
      }
      rec.push_back(std::move(field));
      if (i < in.size() && in[i] == ',') {
        ++i;
        continue;
      }
      if (in.substr(i, eol.size()) == eol) {
        i += eol.size();
        break;
      }
      ADD_FAILURE() << "expected ',' or the line ending at byte " << i;
      return records;
    }
    records.push_back(std::move(rec));
  }
  return records;
}

std::vector<CsvColumn> columns(std::initializer_list<const char*> names) {
  std::vector<CsvColumn> cols;
  for (const char* n : names) cols.push_back({n, "", MaskMode::kNone});
  return cols;
}

CsvConfig config_with(std::vector<CsvColumn> cols, std::string eol = "\n") {
  CsvConfig c;
  c.columns = std::move(cols);
  c.line_ending = std::move(eol);
  return c;
}

/// Writes `rows` with `config` (no masking) and returns the bytes.
std::string write_all(const CsvConfig& config, const std::vector<Record>& rows,
                      std::size_t buffer = CsvWriter::kDefaultBufferSize) {
  StringSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink, buffer);
  w.write_header();
  std::vector<std::optional<std::string_view>> view;
  for (const auto& r : rows) {
    view.assign(r.begin(), r.end());
    w.write_row(view);
  }
  w.flush();
  EXPECT_EQ(w.rows(), static_cast<std::int64_t>(rows.size()));
  EXPECT_EQ(w.bytes(), static_cast<std::int64_t>(sink.data.size()));
  return sink.data;
}

/// Values meant to break a careless encoder.
std::vector<Field> hostile_values() {
  std::string big;
  std::mt19937 rng(3);
  const std::string pieces[] = {"a", ",", "\"", "\r", "\n", "\r\n", "é", "😀", " ", "\t", "="};
  while (big.size() < 100 * 1024) big += pieces[rng() % std::size(pieces)];
  return {
      "plain",
      "a,b",
      "say \"hi\"",
      "\"",
      "\"\"",
      ",",
      "line1\nline2",
      "cr\ronly",
      "crlf\r\nx",
      "\r\n",
      "\n",
      "\r",
      "\ttab",
      "tab\t",
      " lead",
      "trail ",
      " ",
      "",
      std::nullopt,
      "😀 emoji",
      "Zürich",
      "日本語テキスト",
      "Ünïcödé, \"x\"",
      "=SUM(A1:A9)",
      "+49 30 1234",
      "-5",
      "@cmd",
      "'quoted'",
      "a\"b\"c",
      big,
      std::string("nul\0byte", 8),
  };
}

/// Rows that put every hostile value in every column position.
std::vector<Record> hostile_rows(std::size_t width) {
  const auto values = hostile_values();
  std::vector<Record> rows;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Record r;
    for (std::size_t c = 0; c < width; ++c) r.push_back(values[(i + c * 7) % values.size()]);
    rows.push_back(std::move(r));
  }
  return rows;
}

class CsvRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CsvRoundTripTest, HostileValuesParseBackExactly) {
  const std::string eol = GetParam();
  const auto config = config_with(columns({"a", "b", "c"}), eol);
  const auto rows = hostile_rows(3);
  const std::string out = write_all(config, rows);
  const auto parsed = parse_csv(out, eol);
  ASSERT_EQ(parsed.size(), rows.size() + 1);
  EXPECT_EQ(parsed[0], (Record{"a", "b", "c"}));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(parsed[i + 1], rows[i]) << "row " << i;
  }
}

TEST_P(CsvRoundTripTest, SingleHostileValuePerRow) {
  const std::string eol = GetParam();
  const auto config = config_with(columns({"only", "last"}), eol);
  std::vector<Record> rows;
  for (const auto& v : hostile_values()) rows.push_back({v, "end"});
  const auto parsed = parse_csv(write_all(config, rows), eol);
  ASSERT_EQ(parsed.size(), rows.size() + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(parsed[i + 1], rows[i]) << i;
}

TEST_P(CsvRoundTripTest, OutputDoesNotDependOnBufferSize) {
  const std::string eol = GetParam();
  const auto config = config_with(columns({"a", "b", "c"}), eol);
  const auto rows = hostile_rows(3);
  const std::string expected = write_all(config, rows);
  for (std::size_t buffer : {1u, 2u, 7u, 64u, 4096u, 100u * 1024u + 3u}) {
    EXPECT_EQ(write_all(config, rows, buffer), expected) << "buffer " << buffer;
  }
}

INSTANTIATE_TEST_SUITE_P(LineEndings, CsvRoundTripTest, ::testing::Values("\n", "\r\n"),
                         [](const auto& info) { return info.param == "\n" ? "LF" : "CRLF"; });

TEST(CsvWriterTest, QuotesOnlyWhereNeeded) {
  const auto config = config_with(columns({"a", "b", "c", "d", "e", "f", "g"}));
  const std::string out =
      write_all(config, {{"plain", "a,b", "q\"q", "", std::nullopt, " x", "ü😀"}});
  EXPECT_EQ(out, "a,b,c,d,e,f,g\nplain,\"a,b\",\"q\"\"q\",\"\",,\" x\",ü😀\n");
}

TEST(CsvWriterTest, UsesConfiguredLineEndingForRecordsOnly) {
  const auto config = config_with(columns({"a", "b"}), "\r\n");
  EXPECT_EQ(write_all(config, {{"x\ny", "z"}}), "a,b\r\n\"x\ny\",z\r\n");
}

TEST(CsvWriterTest, HeaderNamesAndOrderFollowTheConfig) {
  CsvConfig config;
  config.columns = {{"ref_id", "id", MaskMode::kNone},
                    {"email", "", MaskMode::kNone},
                    {"city", "Home, town", MaskMode::kNone}};
  EXPECT_EQ(write_all(config, {{"r1", "e@x.io", "Pune"}}),
            "id,email,\"Home, town\"\nr1,e@x.io,Pune\n");
}

TEST(CsvWriterTest, HeaderCanBeTurnedOff) {
  auto config = config_with(columns({"a", "b"}));
  config.header = false;
  EXPECT_EQ(write_all(config, {{"1", "2"}}), "1,2\n");
}

TEST(CsvWriterTest, SchemaVersionColumnComesLast) {
  auto config = config_with(columns({"a", "b"}));
  config.schema_version_column = true;
  const auto parsed = parse_csv(write_all(config, {{"1", std::nullopt}, {"3", "4"}}), "\n");
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0], (Record{"a", "b", "schema_version"}));
  EXPECT_EQ(parsed[1], (Record{"1", std::nullopt, kSchemaVersion}));
  EXPECT_EQ(parsed[2], (Record{"3", "4", kSchemaVersion}));
}

TEST(CsvWriterTest, FormulaGuardPrefixesDangerousCellsOnlyWhenOn) {
  auto config = config_with(columns({"v"}));
  std::vector<Record> rows;
  const std::vector<std::string> risky = {"=1+1", "+49 30", "-5", "@SUM(A1)", "\tx", "\rx"};
  const std::vector<std::string> safe = {"a=b", "1-2", "x@y.z", "'", " =x"};
  for (const auto& v : risky) rows.push_back({v});
  for (const auto& v : safe) rows.push_back({v});
  rows.push_back({std::nullopt});  // in a one-column file, NULL is an empty line
  rows.push_back({""});

  const auto off = parse_csv(write_all(config, rows), "\n");
  ASSERT_EQ(off.size(), rows.size() + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(off[i + 1], rows[i]) << i;

  config.formula_guard = true;
  const auto on = parse_csv(write_all(config, rows), "\n");
  ASSERT_EQ(on.size(), rows.size() + 1);
  EXPECT_EQ(on[0], (Record{"v"}));
  for (std::size_t i = 0; i < risky.size(); ++i) EXPECT_EQ(on[i + 1], Record{"'" + risky[i]});
  for (std::size_t i = 0; i < safe.size(); ++i) {
    EXPECT_EQ(on[risky.size() + i + 1], Record{safe[i]});
  }
  EXPECT_EQ(on[rows.size() - 1], Record{std::nullopt});
  EXPECT_EQ(on[rows.size()], Record{""});
}

TEST(CsvWriterTest, GuardedQuotedCellKeepsQuoteOutside) {
  auto config = config_with(columns({"v"}));
  config.formula_guard = true;
  config.header = false;
  EXPECT_EQ(write_all(config, {{"=HYPERLINK(\"x\",1)"}}), "\"'=HYPERLINK(\"\"x\"\",1)\"\n");
}

TEST(CsvWriterTest, MasksBeforeGuardingAndQuoting) {
  CsvConfig config;
  config.header = false;
  config.formula_guard = true;
  config.columns = {{"phone", "", MaskMode::kPartial},
                    {"email", "", MaskMode::kPartial},
                    {"bio", "", MaskMode::kRedact},
                    {"ref_id", "", MaskMode::kHash}};
  StringSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, "Jefe"), sink);
  std::vector<std::optional<std::string_view>> row = {"+4915112345678", "john@exa,mple.com",
                                                      std::nullopt, "what do ya want for nothing?"};
  w.write_row(row);
  w.flush();
  EXPECT_EQ(sink.data,
            "'+************8,\"j***@exa,mple.com\",,"
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n");
}

TEST(CsvWriterTest, HandsTheSinkFullBlocks) {
  const auto config = config_with(columns({"a", "b", "c"}));
  StringSink sink;
  constexpr std::size_t kBuffer = 4096;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink, kBuffer);
  std::vector<std::optional<std::string_view>> row = {"00000000-0000-0000-0000-000000000001",
                                                      "someone", "a,b"};
  for (int i = 0; i < 5000; ++i) w.write_row(row);
  const std::string big(3 * kBuffer + 5, 'x');
  row[1] = big;
  w.write_row(row);
  EXPECT_GE(sink.writes.size(), 10u);
  w.flush();
  for (std::size_t i = 0; i + 1 < sink.writes.size(); ++i) {
    EXPECT_GE(sink.writes[i], kBuffer) << "write " << i;
  }
  EXPECT_EQ(parse_csv(sink.data, "\n").size(), 5001u);
}

TEST(CsvWriterTest, RejectsBadLineEnding) {
  for (const char* eol : {"", "\r", "\n\r", ";"}) {
    StringSink sink;
    auto config = config_with(columns({"a"}), eol);
    try {
      CsvWriter w(config, Masker::for_columns(config.columns, ""), sink);
      FAIL() << "accepted line ending of size " << std::string(eol).size();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
    }
  }
}

TEST(CsvWriterTest, RejectsEmptyColumnListAndMismatchedMasker) {
  StringSink sink;
  try {
    CsvWriter w(config_with({}), Masker({}, ""), sink);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
  try {
    CsvWriter w(config_with(columns({"a", "b"})), Masker({MaskMode::kNone}, ""), sink);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
}

TEST(CsvWriterTest, RejectsRowOfWrongWidth) {
  const auto config = config_with(columns({"a", "b"}));
  StringSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink);
  std::vector<std::optional<std::string_view>> row = {"only one"};
  try {
    w.write_row(row);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("1 values but 2 columns"), std::string::npos);
  }
  EXPECT_EQ(w.rows(), 0);
}

TEST(CsvWriterTest, HeaderAfterRowsIsRejected) {
  const auto config = config_with(columns({"a"}));
  StringSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink);
  std::vector<std::optional<std::string_view>> row = {"x"};
  w.write_row(row);
  EXPECT_THROW(w.write_header(), Error);
}

TEST(CsvWriterTest, SinkFailurePropagates) {
  const auto config = config_with(columns({"a"}));
  FailingSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink, 16);
  std::vector<std::optional<std::string_view>> row = {"0123456789"};
  w.write_row(row);  // still buffered
  try {
    w.write_row(row);  // overflows the 16-byte buffer
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_TRUE(e.retriable());
  }
}

}  // namespace
}  // namespace user_export
