// `user-export verify`: reconciles finished runs with the store and the outbox (docs/SERVICE.md).
#include <iostream>
#include <set>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "runtime/runtime.hpp"
#include "verify/run_verifier.hpp"

namespace user_export {
namespace {

/// The runs named by --run: each a finished run, once.
std::vector<ExportRun> named_runs(Repository& repository, const std::vector<std::string>& ids) {
  std::vector<ExportRun> runs;
  std::set<RunId> seen;
  for (const auto& text : ids) {
    const auto id = Uuid::parse(text);
    if (!id) {
      throw Error(ErrorCode::kInvalidInput,
                  "--run '" + text + "' is not a run id; run ids are UUIDs, see GET /api/runs");
    }
    const RunId run_id(id->str());
    if (!seen.insert(run_id).second) continue;
    auto run = repository.find_run(run_id);
    if (!run) {
      throw Error(ErrorCode::kInvalidInput,
                  "run " + id->str() + " does not exist; check the id with GET /api/runs");
    }
    if (run->state != RunState::kCommitted && run->state != RunState::kCompleted) {
      throw Error(ErrorCode::kInvalidInput,
                  "run " + id->str() + " is " + to_string(run->state) +
                      "; verify checks committed and completed runs only");
    }
    runs.push_back(*run);
  }
  return runs;
}

}  // namespace

int run_verify_command(const CommonOptions& common, const std::vector<std::string>& run_ids,
                       const std::optional<std::string>& since) {
  std::optional<SystemTime> from;
  if (since) {
    from = parse_iso8601(*since);
    if (!from) {
      throw Error(ErrorCode::kUsage, "--since '" + *since +
                                         "' is not a UTC instant; write it like "
                                         "2026-11-25T00:00:00Z");
    }
  }
  Config config = load_command_config(common);
  Runtime runtime(config, RepositoryAccess::kReadOnly);
  require_schema(*runtime.repository);
  const SystemTime cutoff = from.value_or(runtime.clock.now() - std::chrono::hours(24));
  const std::vector<ExportRun> runs = run_ids.empty()
                                          ? runtime.repository->finished_runs_since(cutoff)
                                          : named_runs(*runtime.repository, run_ids);
  // Reading objects needs no bucket check; a missing bucket shows as missing objects.
  const auto store = open_object_store(config.store, &runtime.metrics);
  RunVerifier verifier(config, *runtime.repository, *store);
  const auto checks = verify_runs(verifier, runs, nullptr);
  int failed = 0;
  for (const auto& check : checks) {
    std::cout << describe(check) << "\n";
    if (!check.ok()) ++failed;
  }
  if (run_ids.empty() && runs.empty()) {
    std::cout << "no committed or completed run was created since " << format_iso8601(cutoff)
              << "\n";
  } else {
    std::cout << checks.size() << " runs: " << (checks.size() - static_cast<std::size_t>(failed))
              << " agree, " << failed << " differ\n";
  }
  return failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace user_export
