#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/export_job.hpp"
#include "cli/terminal.hpp"
#include "common/error.hpp"
#include "config/config_loader.hpp"
#include "config/environment.hpp"
#include "observe/logging.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

/// The demo's fixed domain, so that repeated demos and `export` on the demo config agree.
constexpr const char* kDemoDomain = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41";

std::string demo_config_text(const fs::path& dir) {
  const std::string d = dir.string();
  return "# Written by `user-export demo`. Run it again with:\n"
         "#   user-export export --config " +
         d +
         "/user-export.toml\n\n"
         "[export]\n"
         "domain_id = \"" +
         kDemoDomain +
         "\"\n"
         "staging_dir = \"" +
         d +
         "/staging\"\n"
         "max_parallel_groups = 2\n\n"
         "[database]\n"
         "url = \"sqlite://" +
         d +
         "/user-export.db\"\n\n"
         "[store]\n"
         "url = \"file://" +
         d +
         "/objects\"\n\n"
         "[messages]\n"
         "file = \"" +
         d +
         "/messages.jsonl\"\n\n"
         "[retry]\n"
         "max_attempts = 3\n"
         "initial_backoff_ms = 100\n\n"
         "[log]\n"
         "level = \"warn\"\n";
}

void remove_previous_demo(const fs::path& dir) {
  for (const char* name : {"user-export.db", "user-export.db-wal", "user-export.db-shm",
                           "messages.jsonl", "objects", "staging", "user-export.toml"}) {
    std::error_code ec;
    fs::remove_all(dir / name, ec);
    if (ec) {
      throw Error(ErrorCode::kIo, "cannot remove " + (dir / name).string() +
                                      " from an earlier demo: " + ec.message());
    }
  }
}

}  // namespace

int run_demo_command(const std::string& dir_arg, std::int64_t users, int groups) {
  std::error_code ec;
  fs::create_directories(dir_arg, ec);
  if (ec) {
    throw Error(ErrorCode::kIo,
                "cannot create the demo directory " + dir_arg + ": " + ec.message());
  }
  const fs::path dir = fs::canonical(dir_arg);
  remove_previous_demo(dir);
  const fs::path config_path = dir / "user-export.toml";
  {
    std::ofstream out(config_path);
    out << demo_config_text(dir);
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + config_path.string());
  }

  Environment env = Environment::from_process();
  Config config = load_config(config_path, env);
  init_logging(config.log.level, config.log.json);
  Runtime runtime(config);
  runtime.repository->migrate();

  std::cout << "user-export demo in " << dir.string() << "\n";
  SeedPlan plan{DomainId::parse(config.export_.domain_id), users, groups, 1};
  {
    Progress progress("seeding users");
    runtime.repository->seed(
        plan, [&](std::int64_t done, std::int64_t total) { progress.update(done, total); });
  }
  std::cout << "seeded " << users << " users with profiles in " << groups << " groups\n\n";

  ExportJobOptions options;
  options.show_paths_relative_to = dir;
  ExportJobResult result = run_export_job(runtime, options, std::cout);
  std::cout << "\nfiles:    " << (dir / "objects").string() << "\n"
            << "messages: " << config.messages.file << "\n"
            << "database: " << (dir / "user-export.db").string() << "\n"
            << "again:    user-export export --config " << config_path.string() << "\n";
  return result.exit_code;
}

}  // namespace user_export
