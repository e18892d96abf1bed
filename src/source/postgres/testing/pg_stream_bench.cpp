// Measures the PostgreSQL backend's bulk paths on a real server:
//   pg_stream_bench URL [USERS] [REPEATS]
// On an empty database it migrates and seeds USERS users (default 1,000,000) in one group and
// times the seed; then it claims that group (once; later invocations resume the same run) and
// streams the run REPEATS times (default 3) through a RowHandler that does nothing, printing
// each time and the SELECT to run with `psql -c "\copy (SELECT …) TO STDOUT" > /dev/null` for
// the same run. Nothing is ever committed, so the run stays claimed for the next invocation.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/uuid.hpp"
#include "source/postgres/postgres_repository.hpp"
#include "source/postgres/postgres_stream_sql.hpp"

namespace {

using user_export::RowHandler;
using user_export::RowView;

class NullHandler final : public RowHandler {
 public:
  void on_row(RowView row) override {
    rows_ += 1;
    fields_ += row.size();
  }
  std::int64_t rows_ = 0;
  std::size_t fields_ = 0;
};

// CPU seconds (user + system) this process has used so far.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

const std::vector<std::string> kFields = {"ref_id",     "username",     "email",    "phone",
                                          "created_at", "display_name", "gender",   "date_of_birth",
                                          "city",       "bio",          "interests"};

int run(int argc, char** argv) {
  using namespace user_export;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s postgresql://… [users] [repeats]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::int64_t users = argc > 2 ? std::atoll(argv[2]) : 1'000'000;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  SystemClock clock;
  PostgresRepository repo(url, clock);
  repo.migrate();

  const DomainId domain = DomainId::parse("6d1f6f8e-2c1b-4d5a-9a57-1c3c5a0b9e01");
  if (repo.active_groups(domain).empty()) {
    SeedPlan plan;
    plan.domain_id = domain;
    plan.users = users;
    plan.groups = 1;
    auto start = std::chrono::steady_clock::now();
    repo.seed(plan, nullptr);
    std::printf("seed: %lld users with profiles in %.2f s\n", static_cast<long long>(users),
                seconds_since(start));
  }
  const MatchingGroup group = repo.active_groups(domain).front();

  ClaimRequest request;
  request.group_id = group.id;
  request.domain_id = domain;
  request.slot = std::chrono::floor<std::chrono::seconds>(clock.now());
  request.owner = "pg_stream_bench";
  request.lease = std::chrono::seconds{3600};
  SystemRandom random;
  request.new_run_id = Uuid::random(random).str();
  auto start = std::chrono::steady_clock::now();
  ExportRun run = repo.claim(request);
  std::printf("claim: %lld users in %.2f s (%s run %s)\n", static_cast<long long>(run.item_count),
              seconds_since(start), run.resumed ? "resumed" : "new", run.run_id.c_str());

  std::string sql = pg::stream_copy_sql(*Uuid::parse(run.run_id), kFields);
  std::string select = sql.substr(6, sql.size() - 6 - 11);  // without "COPY (" and ") TO STDOUT"
  std::printf("select: %s\n", select.c_str());
  for (int i = 0; i < repeats; ++i) {
    NullHandler handler;
    start = std::chrono::steady_clock::now();
    const double cpu = cpu_seconds();
    repo.stream_rows(run.run_id, kFields, handler);
    std::printf("stream: %lld rows in %.3f s (client CPU %.3f s)\n",
                static_cast<long long>(handler.rows_), seconds_since(start), cpu_seconds() - cpu);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_stream_bench: %s\n", e.what());
    return 1;
  }
}
