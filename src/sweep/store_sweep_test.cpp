// The start-up sweep against a SQLite repository and a local store: what dead writers left is
// removed, and nothing a live or committed attempt needs.
#include "sweep/store_sweep.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "source/repository.hpp"
#include "storage/local/local_store.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const DomainId kDomain = DomainId::parse("5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41");

class StoreSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = open_repository("sqlite://" + (dir_ / "db.sqlite").string(), clock_);
    repo_->migrate();
    repo_->seed(SeedPlan{kDomain, 40, 4, 7}, {});
    groups_ = repo_->active_groups(kDomain);
    store_ = std::make_unique<LocalStore>(dir_ / "objects");
    store_->ensure_ready();
  }
  void TearDown() override { repo_.reset(); }

  ExportRun claim(const MatchingGroup& g, const std::string& owner) {
    ClaimRequest request;
    request.group_id = g.id;
    request.domain_id = g.domain_id;
    request.slot = kSlot;
    request.owner = OwnerId(owner);
    request.lease = 60s;
    request.new_run_id = RunId(Uuid::random(random_).str());
    return repo_->claim(request);
  }
  std::string key(const ExportRun& run, int attempt) {
    return object_key_for("", run.domain_id, run.group_id, run.slot, run.run_id, attempt);
  }
  /// An object under `key`, and a temporary file of its writer beside it.
  void write(const std::string& key, bool temp) {
    const fs::path path = store_->path_for(key);
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "object";
    if (temp)
      std::ofstream(path.parent_path() / ("." + path.filename().string() + ".tmp-x1y2z3"))
          << "partial";
  }
  void commit(const ExportRun& run, const std::string& owner) {
    CommitRequest request;
    request.run_id = run.run_id;
    request.owner = OwnerId(owner);
    request.attempt = run.attempts;
    ExportedFile file;
    file.object_key = key(run, run.attempts);
    file.rows = 10;
    file.bytes = 6;
    file.sha256 = std::string(64, 'a');
    request.file = file;
    request.messages = {};
    repo_->commit(request);
  }
  int temp_files() {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "objects")) {
      n += e.path().filename().string().find(".tmp-") != std::string::npos ? 1 : 0;
    }
    return n;
  }

  const Slot kSlot{std::chrono::seconds{1'767'225'600}};
  testing::TempDir dir_{"store-sweep-test"};
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> store_;
  std::vector<MatchingGroup> groups_;
};

TEST_F(StoreSweepTest, RemovesWhatDeadAttemptsLeftAndKeepsWhatLiveOrCommittedOnesNeed) {
  // Run A: attempt 1 died after its upload, attempt 2 committed and was killed before removing
  // attempt 1's object.
  ExportRun a = claim(groups_[0], "dead");
  write(key(a, 1), true);
  clock_.advance(2min);
  a = claim(groups_[0], "live");
  ASSERT_EQ(a.attempts, 2);
  write(key(a, 2), false);
  commit(a, "live");
  // Run B: attempt 1 died, attempt 2 is being exported right now (live lease).
  ExportRun b = claim(groups_[1], "dead");
  write(key(b, 1), true);
  clock_.advance(2min);
  b = claim(groups_[1], "live");
  write(key(b, 2), true);

  StoreSweep sweep(*repo_, *store_, metrics_, clock_, SweepOptions{});
  const SweepReport report = sweep.run();

  EXPECT_EQ(report.runs, 2);
  EXPECT_FALSE(store_->exists(key(a, 1)));
  EXPECT_TRUE(store_->exists(key(a, 2)));  // the committed one
  EXPECT_FALSE(store_->exists(key(b, 1)));
  EXPECT_TRUE(store_->exists(key(b, 2)));  // the live attempt's, and its temporary file
  EXPECT_EQ(temp_files(), 1);
  EXPECT_EQ(report.objects_removed, 2);
  EXPECT_EQ(report.uploads_aborted, 2);
  EXPECT_EQ(report.failures, 0);
  EXPECT_EQ(metrics_.value("users_export_sweep_total", {{"what", "objects"}}), 2);
  EXPECT_EQ(metrics_.value("users_export_sweep_total", {{"what", "unfinished_uploads"}}), 2);

  // A second sweep finds nothing more.
  const SweepReport again = sweep.run();
  EXPECT_EQ(again.objects_removed + again.uploads_aborted, 0);
}

TEST_F(StoreSweepTest, OldFinishedRunsAreLeftAlone) {
  ExportRun a = claim(groups_[0], "dead");
  write(key(a, 1), false);
  clock_.advance(2min);
  a = claim(groups_[0], "live");
  write(key(a, 2), false);
  commit(a, "live");
  clock_.advance(std::chrono::hours(24 * 8));  // older than the window
  const SweepReport report = StoreSweep(*repo_, *store_, metrics_, clock_, SweepOptions{}).run();
  EXPECT_EQ(report.runs, 0);
  EXPECT_TRUE(store_->exists(key(a, 1)));
}

}  // namespace
}  // namespace user_export
