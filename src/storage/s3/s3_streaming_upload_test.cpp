// Uploads that run while the staged file is written (S3Store::begin_upload): against the local
// recording server, a writer appends to a file and reports each block; the parts must reach the
// server before the writer finishes, each with the Content-MD5 of its bytes, and the upload
// must be completed only when the parts read are the writer's file, and aborted when it is
// cancelled or abandoned.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.hpp"
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
using testing::RecordedRequest;
using testing::RecordingS3;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr const char* kKey = "exports/group/run.attempt-1.csv.gz";
constexpr const char* kObjectPath = "/bucket/exports/group/run.attempt-1.csv.gz";
const std::string kAbort =
    std::string("DELETE ") + kObjectPath + "?uploadId=" + RecordingS3::kUploadId;
const std::string kComplete = std::string("POST ") + kObjectPath + "?uploadId=";

/// `size` bytes that differ from part to part.
std::string content(std::uint64_t size) {
  std::string bytes(size, '\0');
  for (std::uint64_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>(static_cast<char>(i % 251) + static_cast<char>(i >> 20));
  }
  return bytes;
}

std::string sha256_hex_of(std::string_view bytes) {
  Digest d;
  d.update(bytes);
  return to_hex(d.finish());
}

std::string md5_base64_of(std::string_view bytes) {
  Digest d(Digest::Kind::kMd5);
  d.update(bytes);
  return to_base64(d.finish());
}

/// A staged file being written: appends through its own descriptor, as the gzip sink does,
/// and keeps a second descriptor for the upload.
class GrowingFile {
 public:
  explicit GrowingFile(const std::filesystem::path& path)
      : path_(path),
        fd_(::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600)),
        read_fd_(::fcntl(fd_, F_DUPFD_CLOEXEC, 0)) {}
  ~GrowingFile() {
    ::close(fd_);
    ::close(read_fd_);
  }
  GrowingFile(const GrowingFile&) = delete;
  GrowingFile& operator=(const GrowingFile&) = delete;

  /// Appends `bytes`; returns the file's size.
  std::int64_t append(std::string_view bytes) {
    EXPECT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    size_ += static_cast<std::int64_t>(bytes.size());
    return size_;
  }
  const std::filesystem::path& path() const { return path_; }
  int read_fd() const { return read_fd_; }

 private:
  std::filesystem::path path_;
  int fd_;
  int read_fd_;
  std::int64_t size_ = 0;
};

class S3StreamingUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_.hold = false;
    file_.emplace(dir_ / "staged.csv.gz");
  }
  void TearDown() override { file_.reset(); }

  /// Files over 5 MiB go up as multipart uploads of 5 MiB parts, two at a time.
  std::unique_ptr<S3Store> store(std::uint64_t threshold = 5 * kMiB, int parallel = 2) {
    StoreConfig c = peer_.store_config();
    c.part_size = 5 * kMiB;
    c.multipart_threshold = threshold;
    c.parallel_parts = parallel;
    S3StoreOptions options;
    options.request_retry.max_attempts = 3;
    options.clock = &clock_;
    return std::make_unique<S3Store>(c, options, &metrics_, clock_, random_);
  }

  PutRequest request() const {
    PutRequest put;
    put.key = kKey;
    put.file = file_->path();
    put.fd = file_->read_fd();
    put.cancel = &cancel_;
    put.metadata = {{"row-count", "7"}};
    return put;
  }

  /// Requests whose `METHOD target` contains `part`, in order.
  std::vector<RecordedRequest> requests_with(const std::string& part) const {
    std::vector<RecordedRequest> found;
    for (const auto& r : peer_.recorded()) {
      if ((r.method + " " + r.target).find(part) != std::string::npos) found.push_back(r);
    }
    return found;
  }

  RecordingS3 peer_;
  std::atomic<bool> cancel_{false};
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  testing::TempDir dir_{"ue-s3-stream"};
  std::optional<GrowingFile> file_;
};

TEST_F(S3StreamingUploadTest, PartsGoUpWhileTheFileIsWrittenAndTheObjectIsTheFile) {
  auto s3 = store();
  ASSERT_TRUE(s3->streams_uploads());
  const std::string bytes = content(13 * kMiB + 12345);  // parts of 5, 5 and 3 MiB
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(std::string_view(bytes).substr(0, 4 * kMiB)));
  EXPECT_EQ(peer_.count("uploads"), 0u) << "started below the multipart threshold";
  upload->written(file_->append(std::string_view(bytes).substr(4 * kMiB, 7 * kMiB)));
  // The writer has not finished: the first part must reach the server anyway.
  ASSERT_TRUE(peer_.wait_for_request("partNumber=1&", 10s))
      << ::testing::PrintToString(peer_.requests());
  ASSERT_TRUE(peer_.wait_for_request("partNumber=2&", 10s))
      << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count(kComplete), 0u);
  upload->written(file_->append(std::string_view(bytes).substr(11 * kMiB)));
  const std::string sha = sha256_hex_of(bytes);
  const auto stored =
      upload->finish(FinishedFile{static_cast<std::int64_t>(bytes.size()), sha, {{"sha256", sha}}});

  EXPECT_EQ(stored.bytes, static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(stored.sha256, sha);
  EXPECT_EQ(peer_.object(kObjectPath), bytes) << "the object is not the file";
  const auto parts = requests_with("partNumber=");
  ASSERT_EQ(parts.size(), 3u) << ::testing::PrintToString(peer_.requests());
  for (const auto& part : parts) {
    EXPECT_EQ(part.header("Content-MD5"), md5_base64_of(part.body)) << part.target;
  }
  EXPECT_EQ(parts[2].body.size(), 3 * kMiB + 12345);
  const auto start = requests_with("?uploads=");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(start[0].header("x-amz-meta-row-count"), "7");
  EXPECT_EQ(peer_.count(kComplete), 1u);
  EXPECT_EQ(peer_.count(std::string("HEAD ") + kObjectPath), 1u) << "no size check";
  EXPECT_EQ(peer_.count("DELETE "), 0u);
  EXPECT_EQ(metrics_.value("users_export_s3_uploads_total"), 1.0);
}

TEST_F(S3StreamingUploadTest, AFileOfWholePartsIsCompletedWithoutAnEmptyPart) {
  auto s3 = store(5 * kMiB, 1);
  const std::string bytes = content(10 * kMiB);
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(bytes));
  const std::string sha = sha256_hex_of(bytes);
  upload->finish(FinishedFile{static_cast<std::int64_t>(bytes.size()), sha, {}});
  EXPECT_EQ(peer_.count("partNumber="), 2u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.object(kObjectPath), bytes);
}

TEST_F(S3StreamingUploadTest, AFileThatEndsBelowTheThresholdGoesUpWithOneVerifiedPut) {
  auto s3 = store(16 * kMiB);
  const std::string bytes = content(3 * kMiB);
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(bytes));
  EXPECT_EQ(peer_.requests().size(), 0u) << "nothing is sent before the file is complete";
  const std::string sha = sha256_hex_of(bytes);
  upload->finish(FinishedFile{static_cast<std::int64_t>(bytes.size()), sha, {{"sha256", sha}}});
  const auto puts = requests_with(std::string("PUT ") + kObjectPath);
  ASSERT_EQ(puts.size(), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_NE(puts[0].header("x-amz-checksum-sha256"), "");
  EXPECT_EQ(puts[0].header("x-amz-meta-sha256"), sha) << "metadata known at the end is kept";
  EXPECT_EQ(peer_.count("uploads"), 0u);
  EXPECT_EQ(peer_.object(kObjectPath), bytes);
}

TEST_F(S3StreamingUploadTest, PartsThatAreNotTheWritersDigestAreAbortedNotCompleted) {
  auto s3 = store();
  const std::string bytes = content(12 * kMiB);
  std::string digested = bytes;
  digested[kMiB] ^= 0x01;  // the writer digested other bytes than the parts hold
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(bytes));
  try {
    upload->finish(
        FinishedFile{static_cast<std::int64_t>(bytes.size()), sha256_hex_of(digested), {}});
    FAIL() << "parts that are not the writer's file were completed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_NE(std::string(e.what()).find("have SHA-256 " + sha256_hex_of(bytes)), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(peer_.count(kAbort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count(kComplete), 0u) << ::testing::PrintToString(peer_.requests());
  EXPECT_FALSE(peer_.has_object(kObjectPath));
  EXPECT_EQ(metrics_.value("users_export_s3_failures_total"), 1.0);
}

TEST_F(S3StreamingUploadTest, AFileOfAnotherSizeThanTheWritersIsAbortedNotCompleted) {
  auto s3 = store();
  const std::string bytes = content(12 * kMiB);
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(bytes));
  const std::string sha = sha256_hex_of(bytes);
  EXPECT_THROW(upload->finish(FinishedFile{static_cast<std::int64_t>(bytes.size()) + 1, sha, {}}),
               Error);
  EXPECT_EQ(peer_.count(kAbort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count(kComplete), 0u);
  EXPECT_FALSE(peer_.has_object(kObjectPath));
}

TEST_F(S3StreamingUploadTest, CancelDuringAPartInFlightStopsItPromptlyAndAborts) {
  peer_.hold = true;  // part 1 is not answered until released
  auto s3 = store(5 * kMiB, 1);
  const std::string bytes = content(12 * kMiB);
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(std::string_view(bytes).substr(0, 6 * kMiB)));
  ASSERT_TRUE(peer_.wait_for_request("partNumber=1&", 10s));
  const auto cancelled_at = Steady::now();
  cancel_ = true;  // the lease was lost while the file was still written
  upload->written(file_->append(std::string_view(bytes).substr(6 * kMiB)));
  try {
    upload->finish(FinishedFile{static_cast<std::int64_t>(bytes.size()), sha256_hex_of(bytes), {}});
    FAIL() << "a cancelled upload was completed";
  } catch (const Error& e) {
    EXPECT_FALSE(e.retriable()) << e.what();
    EXPECT_NE(std::string(e.what()).find("cancelled by shutdown"), std::string::npos) << e.what();
  }
  EXPECT_LT(Steady::now() - cancelled_at, 3s) << "the part in flight was not interrupted";
  EXPECT_EQ(peer_.count(kAbort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("partNumber=2"), 0u) << "a part was sent after the cancellation";
  EXPECT_EQ(peer_.count(kComplete), 0u);
  EXPECT_EQ(metrics_.value("users_export_s3_failures_total"), 0.0);
}

TEST_F(S3StreamingUploadTest, AnUploadAbandonedByItsWriterIsAborted) {
  auto s3 = store();
  const std::string bytes = content(7 * kMiB);
  {
    auto upload = s3->begin_upload(request());
    upload->written(file_->append(bytes));
    ASSERT_TRUE(peer_.wait_for_request("partNumber=1&", 10s));
    // The stream fails here (the database went away): the upload is destroyed unfinished.
  }
  EXPECT_EQ(peer_.count(kAbort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count(kComplete), 0u);
  EXPECT_EQ(peer_.count("partNumber=2"), 0u);
  EXPECT_FALSE(peer_.has_object(kObjectPath));
}

TEST_F(S3StreamingUploadTest, CancelWhileWaitingForTheFileToGrowStopsThePartsAndAborts) {
  auto s3 = store(5 * kMiB, 1);
  auto upload = s3->begin_upload(request());
  upload->written(file_->append(content(6 * kMiB)));
  ASSERT_TRUE(peer_.wait_for_request("partNumber=1&", 10s));
  cancel_ = true;  // the writer is stuck (no more bytes), the lease is lost
  try {
    upload->finish(FinishedFile{6 * static_cast<std::int64_t>(kMiB), std::string(64, '0'), {}});
    FAIL() << "a cancelled upload was completed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cancelled by shutdown"), std::string::npos) << e.what();
  }
  EXPECT_EQ(peer_.count(kAbort), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count(kComplete), 0u);
}

}  // namespace
}  // namespace user_export
