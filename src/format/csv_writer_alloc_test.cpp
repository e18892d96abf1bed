// Counts calls of the global operator new to show that encoding rows allocates nothing once the
// writer and masker have warmed up. Replacing the global allocation functions is allowed by the
// standard; the replacement only counts and forwards to malloc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "format/csv_writer.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC cannot see that these replacements pair malloc with free and warns at inlined call sites.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace user_export {
namespace {

/// Discards bytes but counts them, as a compressor would consume them.
class CountingSink final : public ByteSink {
 public:
  void write(std::string_view bytes) override { size += bytes.size(); }
  std::size_t size = 0;
};

TEST(CsvWriterAllocTest, RowsAllocateNothingAfterWarmUp) {
  CsvConfig config;
  config.formula_guard = true;
  config.schema_version_column = true;
  config.columns = {{"ref_id", "", MaskMode::kNone},
                    {"email", "", MaskMode::kPartial},
                    {"phone", "", MaskMode::kRedact},
                    {"bio", "", MaskMode::kNone},
                    {"city", "", MaskMode::kPartial}};
  CountingSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink, 64 * 1024);
  const std::string long_bio(5000, 'x');
  const std::string quoted_bio = "He said \"hi\", then\nleft. " + long_bio;
  std::vector<std::vector<std::optional<std::string_view>>> rows = {
      {"c0a8e0b2-0000-4000-8000-000000000001", "john@example.com", "+4915112345678", quoted_bio,
       "Zürich"},
      {"c0a8e0b2-0000-4000-8000-000000000002", std::nullopt, "", "=cmd|' /C calc'!A0",
       "日本語テキスト"},
      {"c0a8e0b2-0000-4000-8000-000000000003", "x@y.z", std::nullopt, long_bio, std::nullopt},
  };
  w.write_header();
  for (const auto& r : rows) w.write_row(r);  // warm-up: the masker's buffer reaches its size

  const long before = g_allocations.load();
  for (int i = 0; i < 20000; ++i) w.write_row(rows[static_cast<std::size_t>(i) % rows.size()]);
  w.flush();
  const long during = g_allocations.load() - before;

  EXPECT_EQ(during, 0);
  EXPECT_EQ(w.rows(), 20003);
  EXPECT_EQ(static_cast<std::int64_t>(sink.size), w.bytes());
  EXPECT_GT(sink.size, 20000u * 100u);
}

}  // namespace
}  // namespace user_export
