#include "format/csv_record_counter.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "format/gzip_file_sink.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

std::string gzip_of(const testing::TempDir& dir, const std::string& text) {
  const auto path = dir.path() / "f.csv.gz";
  {
    GzipFileSink sink(path, 1);
    sink.write(text);
    sink.finish();
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::int64_t count_in_chunks(const std::string& gz, std::size_t chunk) {
  GzipCsvRecordCounter counter;
  for (std::size_t i = 0; i < gz.size(); i += chunk) {
    counter.feed(std::string_view(gz).substr(i, chunk));
  }
  return counter.finish();
}

TEST(GzipCsvRecordCounter, CountsRecordsNotLinesWhateverTheChunking) {
  testing::TempDir dir;
  std::string csv = "ref_id,bio\n";
  for (int i = 0; i < 5000; ++i) {
    csv += "r" + std::to_string(i) + ",\"line one\nline \"\"two\"\"\r\n\"\n";
  }
  csv += "last,\"no newline at the end\"";
  const std::string gz = gzip_of(dir, csv);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, gz.size()}) {
    EXPECT_EQ(count_in_chunks(gz, chunk), 5002) << "chunk " << chunk;
  }
  EXPECT_EQ(count_in_chunks(gz + gz, 333), 5002 * 2 - 1)  // two members: "last,…" + header join
      << "a second gzip member is read too";
}

TEST(GzipCsvRecordCounter, ADamagedTruncatedOrEmptyFileIsAnError) {
  testing::TempDir dir;
  std::string csv;
  for (int i = 0; i < 2000; ++i) csv += "row " + std::to_string(i) + "\n";
  const std::string gz = gzip_of(dir, csv);
  ASSERT_EQ(count_in_chunks(gz, 100), 2000);

  std::string flipped = gz;
  flipped[gz.size() - 6] = static_cast<char>(flipped[gz.size() - 6] ^ 0x01);  // in the CRC
  EXPECT_THROW(count_in_chunks(flipped, 100), Error);
  EXPECT_THROW(count_in_chunks(gz.substr(0, gz.size() / 2), 100), Error);
  GzipCsvRecordCounter empty;
  EXPECT_THROW(empty.finish(), Error);
}

}  // namespace
}  // namespace user_export
