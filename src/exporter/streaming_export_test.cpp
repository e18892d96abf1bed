// The file exporter and a store that uploads while the file is written
// (ObjectStore::begin_upload): the store hears each block the gzip sink wrote before the writer
// finishes, finishes with the writer's size and digest, a streaming upload that failed but may
// succeed later is retried from the staged file, and one abandoned by a failed stream is never
// finished.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "exporter/export_service.hpp"
#include "storage/local/local_store.hpp"
#include "support/export_test_env.hpp"
#include "support/fake_clock.hpp"
#include "support/hooked_store.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

/// A local store that says it streams: it records what the writer reports, and finishes by a
/// put() of the file (or fails as told).
class RecordingStreamingStore final : public testing::DelegatingStore {
 public:
  using DelegatingStore::DelegatingStore;
  StoredObject put(const PutRequest& request) override {
    puts.push_back(request);
    return DelegatingStore::put(request);
  }
  bool streams_uploads() const override { return true; }
  std::unique_ptr<StreamingUpload> begin_upload(const PutRequest& request) override {
    return std::make_unique<Upload>(*this, request);
  }

  std::vector<std::int64_t> written;  ///< sizes reported, in order
  std::optional<FinishedFile> finished;
  std::optional<Error> finish_error;  ///< thrown by finish() instead of uploading
  std::vector<PutRequest> puts;       ///< put() calls, the streaming finish's included
  int abandoned = 0;                  ///< uploads destroyed before finish()

 private:
  class Upload final : public StreamingUpload {
   public:
    Upload(RecordingStreamingStore& store, PutRequest request)
        : store_(store), request_(std::move(request)) {}
    ~Upload() override {
      if (!finished_) ++store_.abandoned;
    }
    void written(std::int64_t bytes) override { store_.written.push_back(bytes); }
    StoredObject finish(const FinishedFile& file) override {
      finished_ = true;
      store_.finished = file;
      if (store_.finish_error) throw *store_.finish_error;
      return store_.put(finished_put(request_, file));
    }

   private:
    RecordingStreamingStore& store_;
    PutRequest request_;
    bool finished_ = false;
  };
};

class StreamingExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::sqlite_export_config(dir_.path());
    config_.retry.max_attempts = 1;
    repo_ = open_repository(config_.database.url, clock_);
    repo_->migrate();
    // 12,000 users in the cost-based group: a file of several 256 KiB blocks.
    repo_->seed(SeedPlan{DomainId::parse(config_.export_.domain_id), 24000, 2, 7}, {});
    local_ = std::make_unique<LocalStore>(dir_ / "objects");
    store_ = std::make_unique<RecordingStreamingStore>(*local_);
    staging_ = std::make_unique<StagingDir>(config_.export_.staging_dir);
    for (const auto& g : repo_->active_groups(DomainId::parse(config_.export_.domain_id))) {
      if (g.type() == GroupType::kCostBased) group_ = g;
    }
    ASSERT_TRUE(group_.has_value());
    set_fault("");
  }
  void TearDown() override {
    set_fault("");
    service_.reset();
    staging_.reset();
    repo_.reset();
  }

  GroupResult export_group() {
    service_ = std::make_unique<ExportService>(ExportDeps{
        config_, *repo_, *store_, *staging_, metrics_, clock_, clock_, random_, OwnerId("test:1")});
    return service_->export_group(
        *group_, Slot{std::chrono::seconds{1'767'225'600}} + std::chrono::minutes{1});
  }

  /// Lower-case hex SHA-256 of the object `key` in the local store.
  std::string object_sha256(const std::string& key) const {
    std::ifstream in(local_->path_for(key), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    Digest d;
    d.update(bytes);
    return to_hex(d.finish());
  }

  testing::TempDir dir_{"streaming-export-test"};
  Config config_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<RecordingStreamingStore> store_;
  std::unique_ptr<StagingDir> staging_;
  std::unique_ptr<ExportService> service_;
  std::optional<MatchingGroup> group_;
};

TEST_F(StreamingExportTest, TheStoreHearsEachBlockBeforeTheWriterFinishes) {
  const GroupResult r = export_group();
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  ASSERT_TRUE(r.file.has_value());
  ASSERT_GE(store_->written.size(), 3u) << "the file was to be written in several blocks";
  for (std::size_t i = 1; i < store_->written.size(); ++i) {
    EXPECT_GT(store_->written[i], store_->written[i - 1]);
  }
  EXPECT_LT(store_->written.front(), r.file->bytes) << "the first block came with the whole file";
  EXPECT_EQ(store_->written.back(), r.file->bytes);
  ASSERT_TRUE(store_->finished.has_value());
  EXPECT_EQ(store_->finished->bytes, r.file->bytes);
  EXPECT_EQ(store_->finished->sha256, r.file->sha256);
  EXPECT_EQ(store_->finished->metadata.at("sha256"), r.file->sha256);
  ASSERT_EQ(store_->puts.size(), 1u);
  EXPECT_GE(store_->puts[0].fd, 0) << "the upload reads the writer's descriptor";
  EXPECT_EQ(store_->puts[0].metadata.at("row-count"), std::to_string(r.rows));
  EXPECT_EQ(object_sha256(r.file->object_key), r.file->sha256);
  EXPECT_EQ(store_->abandoned, 0);
}

TEST_F(StreamingExportTest, AStreamingUploadThatFailedRetriablyIsRetriedFromTheStagedFile) {
  store_->finish_error = Error(ErrorCode::kStorage, "a part failed after its retries", true);
  const GroupResult r = export_group();
  ASSERT_EQ(r.outcome, GroupOutcome::kExported) << r.error;
  EXPECT_EQ(r.attempts, 1) << "the same attempt uploaded the file again";
  ASSERT_EQ(store_->puts.size(), 1u);
  EXPECT_GE(store_->puts[0].fd, 0);
  EXPECT_EQ(store_->puts[0].bytes, r.file->bytes);
  EXPECT_EQ(store_->puts[0].sha256, r.file->sha256);
  EXPECT_EQ(object_sha256(r.file->object_key), r.file->sha256);
}

TEST_F(StreamingExportTest, AStreamingUploadThatCannotSucceedIsNotRetriedFromTheFile) {
  store_->finish_error = Error(ErrorCode::kStorage, "access denied", false);
  const GroupResult r = export_group();
  EXPECT_TRUE(r.failed());
  EXPECT_TRUE(store_->puts.empty());
}

TEST_F(StreamingExportTest, AnUploadWhoseStreamFailedIsAbandonedNotFinished) {
  set_fault("after_stage:fail");
  const GroupResult r = export_group();
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(store_->finished.has_value());
  EXPECT_EQ(store_->abandoned, 1);
  EXPECT_TRUE(store_->puts.empty());
}

}  // namespace
}  // namespace user_export
