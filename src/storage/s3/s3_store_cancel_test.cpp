// Cancellation of S3 uploads (PutRequest::cancel, set by the daemon's shutdown): against a small
// local HTTP server that records every request and holds uploads until released, so a test
// can cancel while a transfer is in flight and see which requests followed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"
#include "support/fake_clock.hpp"
#include "support/s3/s3_recording_server.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using testing::RecordingS3;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr const char* kUploadId = RecordingS3::kUploadId;

class S3StoreCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {}

  StoreConfig config(std::uint64_t multipart_threshold) const {
    StoreConfig c = peer_.store_config();
    c.part_size = 5 * kMiB;
    c.multipart_threshold = multipart_threshold;
    c.parallel_parts = 1;
    return c;
  }

  std::unique_ptr<S3Store> store(const StoreConfig& c) {
    S3StoreOptions options;
    options.request_retry.max_attempts = 3;
    options.clock = &clock_;
    return std::make_unique<S3Store>(c, options, &metrics_, clock_, random_);
  }

  PutRequest request(std::uint64_t size) {
    const auto path = dir_ / "staged.csv.gz";
    std::ofstream(path, std::ios::binary) << std::string(size, 'x');
    PutRequest put;
    put.key = "exports/group/run.csv.gz";
    put.file = path;
    put.cancel = &cancel_;
    return put;
  }

  /// Runs put() and expects the cancellation error; returns how long after `cancel_` was set
  /// it returned.
  Steady::duration expect_cancelled(S3Store& s3, const PutRequest& put) {
    Steady::time_point cancelled_at{};
    std::thread canceller([&] {
      if (peer_.wait_for_request("PUT ", 10s)) std::this_thread::sleep_for(300ms);
      cancelled_at = Steady::now();
      cancel_ = true;
    });
    try {
      s3.put(put);
      canceller.join();
      ADD_FAILURE() << "the upload finished although it was cancelled";
      return {};
    } catch (const Error& e) {
      const auto returned = Steady::now();
      canceller.join();
      EXPECT_EQ(e.code(), ErrorCode::kStorage);
      EXPECT_FALSE(e.retriable()) << e.what();
      EXPECT_NE(std::string(e.what()).find("cancelled by shutdown"), std::string::npos) << e.what();
      return returned - cancelled_at;
    }
  }

  RecordingS3 peer_;
  std::atomic<bool> cancel_{false};
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  testing::TempDir dir_{"ue-s3-cancel"};
};

TEST_F(S3StoreCancelTest, CancelDuringAPartStopsItPromptlyAndAbortsTheUpload) {
  auto s3 = store(config(0));  // every file goes up as a multipart upload
  const auto took = expect_cancelled(*s3, request(4096));
  EXPECT_LT(took, 3s) << "the part in flight was not interrupted";
  const std::string abort =
      std::string("DELETE /bucket/exports/group/run.csv.gz?uploadId=") + kUploadId;
  EXPECT_EQ(peer_.count(abort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("PUT "), 1u) << "a cancelled part was retried";
  EXPECT_EQ(peer_.count("POST /bucket/exports/group/run.csv.gz?uploadId="), 0u)
      << "a cancelled upload was completed";
  EXPECT_EQ(metrics_.value("users_export_s3_aborted_uploads_total"), 1.0);
  EXPECT_EQ(metrics_.value("users_export_s3_failures_total"), 0.0)
      << "a cancellation is not a storage failure";
}

TEST_F(S3StoreCancelTest, CancelWhileAPartIsAnsweredSendsNoFurtherPart) {
  peer_.hold = false;
  peer_.on_upload = [this] { cancel_ = true; };  // shutdown arrives during part 1
  auto s3 = store(config(0));
  try {
    s3->put(request(5 * kMiB + 1024));  // two parts
    FAIL() << "the upload finished although it was cancelled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cancelled by shutdown"), std::string::npos) << e.what();
    EXPECT_FALSE(e.retriable());
  }
  EXPECT_EQ(peer_.count("partNumber=2"), 0u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(
      peer_.count(std::string("DELETE /bucket/exports/group/run.csv.gz?uploadId=") + kUploadId), 1u)
      << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("POST /bucket/exports/group/run.csv.gz?uploadId="), 0u);
}

TEST_F(S3StoreCancelTest, CancelDuringASinglePutStopsItPromptly) {
  auto s3 = store(config(16 * kMiB));
  const auto took = expect_cancelled(*s3, request(4096));
  EXPECT_LT(took, 3s) << "the PUT in flight was not interrupted";
  EXPECT_EQ(peer_.count("PUT /bucket/exports/group/run.csv.gz"), 1u)
      << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("DELETE "), 0u);
}

TEST_F(S3StoreCancelTest, AnUploadCancelledBeforeItStartsSendsNoUploadRequest) {
  auto s3 = store(config(0));
  cancel_ = true;
  PutRequest put = request(4096);
  EXPECT_THROW(s3->put(put), Error);
  EXPECT_EQ(peer_.count("uploads"), 0u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("PUT "), 0u);
}

TEST_F(S3StoreCancelTest, WithoutACancelFlagTheUploadCompletes) {
  peer_.hold = false;
  auto s3 = store(config(0));
  PutRequest put = request(4096);
  put.cancel = nullptr;
  const auto stored = s3->put(put);
  EXPECT_EQ(stored.bytes, 4096);
  EXPECT_EQ(peer_.count("POST /bucket/exports/group/run.csv.gz?uploadId="), 1u);
  EXPECT_EQ(peer_.count("DELETE "), 0u);
}

}  // namespace
}  // namespace user_export
