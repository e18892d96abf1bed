#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "observe/metrics.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

/// Runs `promtool check metrics` on `text`; returns its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  const testing::TempDir dir("ue-promtool");
  auto input = dir / "metrics.txt";
  std::ofstream(input) << text;
  std::string command = "promtool check metrics < '" + input.string() + "' 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Promtool, AcceptsTheExposition) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package 'prometheus')";
  }
  Metrics m;
  m.counter("users_export_batch_processed_total", "Rows processed", {{"group_id", "g\"1\n"}})
      .inc(12345678);
  m.gauge("users_export_outbox_pending", "Messages waiting\nin the outbox \\ relay").set(-2.5);
  auto& h = m.histogram("users_export_duration_seconds", "Export duration",
                        {{"group_id", "g1"}, {"group_type", "COST_BASED"}});
  h.observe(0.003);
  h.observe(4000);
  m.gauge("users_export_last_success_timestamp_seconds", "Last success").set(1767225600.125);
  auto [status, output] = promtool_check(m.prometheus_text());
  EXPECT_EQ(status, 0) << output << "\n" << m.prometheus_text();
}

}  // namespace
}  // namespace user_export
