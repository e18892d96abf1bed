#include "observe/meter_catalogue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "observe/prometheus_format.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::set<std::string> label_set(const MeterSpec& spec) {
  return {spec.labels.begin(), spec.labels.end()};
}

/// Labels with the spec's names, each with a value.
Labels some_labels(const MeterSpec& spec) {
  Labels labels;
  for (const char* name : spec.labels) labels.emplace_back(name, "v");
  return labels;
}

TEST(MeterCatalogue, EveryMeterHasAUniqueValidNameATypeSuffixAndHelp) {
  std::set<std::string> names;
  for (const MeterSpec* spec : meters::kAll) {
    const std::string name = spec->name;
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "listed twice";
    EXPECT_TRUE(is_valid_metric_name(name));
    EXPECT_NE(std::string(spec->help), "");
    EXPECT_EQ(ends_with(name, "_total"), spec->type == MeterType::kCounter)
        << "counters, and only counters, end in _total";
    if (spec->type == MeterType::kHistogram) {
      EXPECT_TRUE(ends_with(name, "_seconds")) << "histograms here are timers";
    } else {
      EXPECT_TRUE(spec->bounds.empty()) << "only histograms have bounds";
    }
    std::set<std::string> labels;
    for (const char* label : spec->labels) {
      EXPECT_TRUE(is_valid_label_name(label)) << label;
      EXPECT_NE(std::string(label), "le");
      EXPECT_TRUE(labels.insert(label).second) << label << " listed twice";
    }
  }
}

TEST(MeterCatalogue, ListsEveryMeterItDefines) {
  const std::string header = read_file(fs::path(UE_SOURCE_DIR) / "src/observe/meter_catalogue.hpp");
  std::size_t defined = 0;
  for (std::size_t at = header.find("inline constexpr MeterSpec "); at != std::string::npos;
       at = header.find("inline constexpr MeterSpec ", at + 1)) {
    ++defined;
  }
  EXPECT_EQ(defined, meters::kAll.size());
}

TEST(MeterCatalogue, EveryMeterRegistersWithItsTypeHelpAndBounds) {
  Metrics m;
  for (const MeterSpec* spec : meters::kAll) {
    switch (spec->type) {
      case MeterType::kCounter:
        m.counter(*spec, some_labels(*spec)).inc();
        break;
      case MeterType::kGauge:
        m.gauge(*spec, some_labels(*spec)).set(1);
        break;
      case MeterType::kHistogram: {
        Histogram& h = m.histogram(*spec, some_labels(*spec));
        const std::vector<double> expected =
            spec->bounds.empty() ? default_time_buckets()
                                 : std::vector<double>(spec->bounds.begin(), spec->bounds.end());
        EXPECT_EQ(h.bounds(), expected) << spec->name;
        h.observe(1);
        break;
      }
    }
  }
  const std::string text = m.prometheus_text();
  for (const MeterSpec* spec : meters::kAll) {
    const char* type = spec->type == MeterType::kCounter ? "counter"
                       : spec->type == MeterType::kGauge ? "gauge"
                                                         : "histogram";
    EXPECT_NE(text.find("# HELP " + std::string(spec->name) + ' ' + escape_help(spec->help) + '\n'),
              std::string::npos)
        << spec->name;
    EXPECT_NE(text.find("# TYPE " + std::string(spec->name) + ' ' + type + '\n'), std::string::npos)
        << spec->name;
    EXPECT_EQ(m.value(spec->name, some_labels(*spec)), 1) << spec->name;
  }
}

TEST(MeterCatalogue, TheTypeAndLabelNamesAreChecked) {
  Metrics m;
  EXPECT_THROW(m.gauge(meters::kRowsMarked, {{"group_id", "g"}}), Error);
  EXPECT_THROW(m.counter(meters::kExportDuration, {{"group_id", "g"}, {"group_type", "t"}}), Error);
  EXPECT_THROW(m.counter(meters::kRowsMarked), Error);
  EXPECT_THROW(m.counter(meters::kRowsMarked, {{"groupId", "g"}}), Error);
  EXPECT_THROW(m.counter(meters::kRowsMarked, {{"group_id", "g"}, {"group_type", "t"}}), Error);
  EXPECT_THROW(m.counter(meters::kExportFailures, {{"group_id", "g"}, {"group_id", "h"}}), Error);
  // Label order does not matter, and the string API sees the same series.
  m.counter(meters::kExportFailures, {{"group_type", "t"}, {"group_id", "g"}}).inc(2);
  EXPECT_EQ(m.value("users_export_failures_total", {{"group_id", "g"}, {"group_type", "t"}}), 2);
}

/// One row of a metrics table of docs/OBSERVABILITY.md.
struct DocumentedMeter {
  std::string name;              ///< may end in `*` (a family of names)
  std::string type;              ///< counter, gauge, histogram, or "" for a family
  std::set<std::string> labels;  ///< the backticked names outside parentheses
};

/// The rows of the tables in the "## Metrics" section whose first cell is a backticked name.
std::vector<DocumentedMeter> documented_meters() {
  std::istringstream doc(read_file(fs::path(UE_SOURCE_DIR) / "docs/OBSERVABILITY.md"));
  std::vector<DocumentedMeter> out;
  bool in_metrics = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("## ", 0) == 0) in_metrics = line == "## Metrics";
    if (!in_metrics || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    if (cells.size() < 3) continue;
    DocumentedMeter meter;
    const auto open = cells[0].find('`');
    meter.name = cells[0].substr(open + 1, cells[0].find('`', open + 1) - open - 1);
    std::istringstream type(cells[1]);
    type >> meter.type;
    if (!meter.type.empty() && meter.type.back() == ',') meter.type.pop_back();
    std::string labels;
    int depth = 0;
    for (char c : cells[2]) {
      if (c == '(') ++depth;
      if (depth == 0) labels += c;
      if (c == ')') --depth;
    }
    for (auto at = labels.find('`'); at != std::string::npos; at = labels.find('`', at + 1)) {
      const auto end = labels.find('`', at + 1);
      meter.labels.insert(labels.substr(at + 1, end - at - 1));
      at = end;
    }
    out.push_back(std::move(meter));
  }
  return out;
}

bool documented_by(const std::string& name, const DocumentedMeter& row) {
  if (ends_with(row.name, "*")) return name.rfind(row.name.substr(0, row.name.size() - 1), 0) == 0;
  return name == row.name;
}

TEST(MeterCatalogue, AgreesWithTheMetricsDocumentation) {
  const std::vector<DocumentedMeter> rows = documented_meters();
  ASSERT_GT(rows.size(), 20u) << "the tables of docs/OBSERVABILITY.md were not found";
  for (const DocumentedMeter& row : rows) {
    SCOPED_TRACE(row.name);
    const auto matches =
        std::count_if(meters::kAll.begin(), meters::kAll.end(),
                      [&](const MeterSpec* spec) { return documented_by(spec->name, row); });
    EXPECT_GT(matches, 0) << "documented but not in the catalogue";
    if (ends_with(row.name, "*")) continue;
    const auto spec = std::find_if(meters::kAll.begin(), meters::kAll.end(),
                                   [&](const MeterSpec* s) { return row.name == s->name; });
    if (spec == meters::kAll.end()) continue;
    const char* type = (*spec)->type == MeterType::kCounter ? "counter"
                       : (*spec)->type == MeterType::kGauge ? "gauge"
                                                            : "histogram";
    EXPECT_EQ(row.type, type);
    EXPECT_EQ(row.labels, label_set(**spec));
  }
  for (const MeterSpec* spec : meters::kAll) {
    EXPECT_TRUE(
        std::any_of(rows.begin(), rows.end(),
                    [&](const DocumentedMeter& row) { return documented_by(spec->name, row); }))
        << spec->name << " is in the catalogue but not in docs/OBSERVABILITY.md";
  }
}

TEST(MeterCatalogue, IsTheOnlyProductionSourceThatSpellsAMetricName) {
  const fs::path src = fs::path(UE_SOURCE_DIR) / "src";
  std::vector<std::string> spelled;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path& path = entry.path();
    const std::string file = path.filename().string();
    if (!entry.is_regular_file() || ends_with(file, "_test.cpp") || file == "meter_catalogue.hpp" ||
        (path.extension() != ".cpp" && path.extension() != ".hpp")) {
      continue;
    }
    const std::string text = read_file(path);
    for (const MeterSpec* spec : meters::kAll) {
      if (text.find('"' + std::string(spec->name) + '"') != std::string::npos) {
        spelled.push_back(fs::relative(path, src).string() + ": " + spec->name);
      }
    }
    if (text.find("\"users_export_") != std::string::npos) {
      spelled.push_back(fs::relative(path, src).string() + ": \"users_export_");
    }
  }
  EXPECT_TRUE(spelled.empty()) << "use the meters:: constant instead: "
                               << ::testing::PrintToString(spelled);
}

}  // namespace
}  // namespace user_export
