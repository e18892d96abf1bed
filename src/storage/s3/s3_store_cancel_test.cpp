// Cancellation of S3 uploads (PutRequest::cancel, set by the daemon's shutdown): against a small
// local HTTP server that records every request and holds uploads until released, so a test
// can cancel while a transfer is in flight and see which requests followed.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fake_clock.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr const char* kUploadId = "upload-id-1";

/// A minimal S3 look-alike: HEAD bucket 200, CreateMultipartUpload, UploadPart, PutObject,
/// CompleteMultipartUpload and AbortMultipartUpload. Object and part uploads are held (the
/// answer is delayed) while `hold` is set, up to 20 s or until the destructor.
class RecordingS3 {
 public:
  RecordingS3() {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);  // HEAD of the bucket
      res.status = 200;
    });
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.has_param("uploads")) {
        res.set_content(std::string("<InitiateMultipartUploadResult><UploadId>") + kUploadId +
                            "</UploadId></InitiateMultipartUploadResult>",
                        "application/xml");
      } else {
        res.set_content("<CompleteMultipartUploadResult/>", "application/xml");
      }
    });
    server_.Put(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (on_upload) on_upload();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 20s, [&] { return !hold || closing_; });
      res.set_header("ETag", "\"etag-" + req.get_param_value("partNumber") + "\"");
      res.status = 200;
    });
    server_.Delete(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(5ms);
  }

  ~RecordingS3() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// `METHOD target` of every request received so far, in order.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  /// Waits until a request containing `part` arrived; false after `timeout`.
  bool wait_for_request(const std::string& part, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& r : requests_) {
        if (r.find(part) != std::string::npos) return true;
      }
      return false;
    });
  }

  /// Requests containing `part`.
  std::size_t count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& r : requests()) n += r.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  std::atomic<bool> hold{true};     ///< delay upload answers
  std::function<void()> on_upload;  ///< called when an upload request arrives

 private:
  void record(const httplib::Request& req) {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req.method + " " + req.target);
    }
    cv_.notify_all();
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  std::vector<std::string> requests_;
};

class S3StoreCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ue-s3-cancel-" + std::to_string(Steady::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  StoreConfig config(std::uint64_t multipart_threshold) const {
    StoreConfig c;
    c.url = "s3://bucket/exports";
    c.s3_endpoint = peer_.endpoint();
    c.s3_path_style = true;
    c.access_key = "access";
    c.secret_key = "secret";
    c.request_timeout = 30s;
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
  FakeClock clock_;
  FakeRandom random_;
  Metrics metrics_;
  std::filesystem::path dir_;
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
