// Throughput of the CSV encoder alone and of encoder + igzip file sink, on rows shaped like the
// default export (11 columns, about 260 bytes a row). Reported as CSV bytes per second.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "format/csv_writer.hpp"
#include "format/gzip_file_sink.hpp"

namespace user_export {
namespace {

constexpr int kRowsPerIteration = 20000;

std::vector<CsvColumn> default_columns(MaskMode email_mask = MaskMode::kNone,
                                       MaskMode phone_mask = MaskMode::kNone) {
  return {{"ref_id", "", MaskMode::kNone},     {"username", "", MaskMode::kNone},
          {"email", "", email_mask},           {"phone", "", phone_mask},
          {"created_at", "", MaskMode::kNone}, {"display_name", "", MaskMode::kNone},
          {"gender", "", MaskMode::kNone},     {"date_of_birth", "", MaskMode::kNone},
          {"city", "", MaskMode::kNone},       {"bio", "", MaskMode::kNone},
          {"interests", "", MaskMode::kNone}};
}

/// A pool of realistic rows: the storage behind the views handed to the writer.
struct RowPool {
  std::vector<std::vector<std::string>> text;
  std::vector<std::vector<std::optional<std::string_view>>> views;
  double average_csv_bytes = 0;

  RowPool() {
    std::mt19937_64 rng(1);
    const char* first[] = {"Asha", "Ravi", "Lena", "Jonas", "Mei", "Tomás", "Zoë", "Arjun"};
    const char* last[] = {"Patel", "Müller", "Okafor", "Silva", "Kowalski", "Sato", "Nair"};
    const char* cities[] = {"Pune", "Mumbai", "Zürich", "São Paulo", "Berlin", "Bengaluru"};
    const char* hobbies[] = {"hiking", "chess", "cooking", "films", "cricket", "yoga", "music"};
    const char* bios[] = {
        "Software engineer who loves long walks, good coffee and \"quiet\" weekends in the hills.",
        "Teacher, traveller and amateur photographer; always planning the next trip to the "
        "mountains.",
        "Doctor by day, guitarist by night. Looking for someone to share playlists and concerts "
        "with.",
        "Product designer, dog person, bakes bread on Sundays and reads sci-fi novels late at "
        "night."};
    for (int i = 0; i < 4096; ++i) {
      char uuid[40];
      std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-8%03x-%012llx",
                    static_cast<unsigned>(rng()), static_cast<unsigned>(rng() & 0xffff),
                    static_cast<unsigned>(rng() & 0xfff), static_cast<unsigned>(rng() & 0xfff),
                    static_cast<unsigned long long>(rng() & 0xffffffffffffull));
      const std::string f = first[rng() % std::size(first)];
      const std::string l = last[rng() % std::size(last)];
      const std::string user = f + "." + l + std::to_string(rng() % 10000);
      std::string interests =
          std::string(hobbies[rng() % 7]) + "," + hobbies[rng() % 7] + "," + hobbies[rng() % 7];
      text.push_back({uuid, user, user + "@example.com",
                      "+91" + std::to_string(9000000000ull + rng() % 999999999ull),
                      "2024-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10) +
                          " 12:34:56",
                      f + " " + l, rng() % 2 ? "female" : "male",
                      "19" + std::to_string(70 + rng() % 30) + "-0" +
                          std::to_string(1 + rng() % 9) + "-2" + std::to_string(rng() % 9),
                      cities[rng() % std::size(cities)], bios[rng() % std::size(bios)], interests});
    }
    for (const auto& row : text) {
      views.emplace_back(row.begin(), row.end());
      if (views.size() % 7 == 0) views.back()[9] = std::nullopt;  // some profiles lack a bio
    }
  }
};

const RowPool& pool() {
  static const RowPool p;
  return p;
}

/// Discards bytes.
class NullSink final : public ByteSink {
 public:
  void write(std::string_view bytes) override { benchmark::DoNotOptimize(bytes.data()); }
};

std::filesystem::path bench_file() {
  static int n = 0;
  return std::filesystem::temp_directory_path() /
         ("format-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".csv.gz");
}

void write_rows(CsvWriter& w, benchmark::State&) {
  const auto& rows = pool().views;
  for (int i = 0; i < kRowsPerIteration; ++i) {
    w.write_row(rows[static_cast<std::size_t>(i) % rows.size()]);
  }
}

void BM_CsvWriter(benchmark::State& state) {
  CsvConfig config;
  config.columns = default_columns();
  NullSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, ""), sink);
  std::int64_t start = 0;
  for (auto _ : state) {
    start = w.bytes();
    write_rows(w, state);
  }
  w.flush();
  state.SetBytesProcessed(w.bytes());
  state.counters["bytes_per_row"] = static_cast<double>(w.bytes()) / static_cast<double>(w.rows());
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(w.rows()), benchmark::Counter::kIsRate);
  benchmark::DoNotOptimize(start);
}
BENCHMARK(BM_CsvWriter)->Unit(benchmark::kMillisecond);

void BM_CsvWriterMasked(benchmark::State& state) {
  CsvConfig config;
  config.formula_guard = true;
  config.columns = default_columns(MaskMode::kPartial, MaskMode::kHash);
  NullSink sink;
  CsvWriter w(config, Masker::for_columns(config.columns, "bench-key"), sink);
  for (auto _ : state) write_rows(w, state);
  w.flush();
  state.SetBytesProcessed(w.bytes());
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(w.rows()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CsvWriterMasked)->Unit(benchmark::kMillisecond);

void BM_CsvWriterGzip(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  CsvConfig config;
  config.columns = default_columns();
  std::int64_t csv_bytes = 0;
  std::int64_t gz_bytes = 0;
  std::int64_t rows = 0;
  for (auto _ : state) {
    const auto file = bench_file();
    {
      GzipFileSink sink(file, level);
      CsvWriter w(config, Masker::for_columns(config.columns, ""), sink);
      w.write_header();
      for (int rep = 0; rep < 10; ++rep) write_rows(w, state);
      w.flush();
      gz_bytes += sink.finish().bytes;
      csv_bytes += w.bytes();
      rows += w.rows();
    }
    std::filesystem::remove(file);
  }
  state.SetBytesProcessed(csv_bytes);
  state.counters["ratio"] = static_cast<double>(csv_bytes) / static_cast<double>(gz_bytes);
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CsvWriterGzip)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace user_export

BENCHMARK_MAIN();
