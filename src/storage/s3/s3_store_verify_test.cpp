// What S3Store sends so that an upload is exactly the staged file its writer produced: it reads
// the writer's descriptor rather than the path. Checked against a local HTTP server that records
// every request with its headers and body.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fake_clock.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_recording_server.hpp"
#include "storage/s3/s3_store.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;
using testing::RecordedRequest;
using testing::RecordingS3;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr const char* kKey = "exports/group/run.attempt-1.csv.gz";

/// `size` bytes that differ from part to part and with `seed`.
std::string content(std::uint64_t size, char seed) {
  std::string bytes(size, '\0');
  for (std::uint64_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>(seed + static_cast<char>(i % 251) + static_cast<char>(i >> 20));
  }
  return bytes;
}

/// An open read-only descriptor, closed by the destructor.
class OpenFile {
 public:
  explicit OpenFile(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class S3StoreVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_.hold = false;
    dir_ = std::filesystem::temp_directory_path() /
           ("ue-s3-verify-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Files up to `multipart_threshold` bytes go up with one PUT; parts are 5 MiB.
  StoreConfig config(std::uint64_t multipart_threshold, int parallel_parts = 1) const {
    StoreConfig c;
    c.url = "s3://bucket/exports";
    c.s3_endpoint = peer_.endpoint();
    c.s3_path_style = true;
    c.access_key = "access";
    c.secret_key = "secret";
    c.request_timeout = 30s;
    c.part_size = 5 * kMiB;
    c.multipart_threshold = multipart_threshold;
    c.parallel_parts = parallel_parts;
    return c;
  }

  std::unique_ptr<S3Store> store(const StoreConfig& c) {
    S3StoreOptions options;
    options.request_retry.max_attempts = 3;
    options.clock = &clock_;
    return std::make_unique<S3Store>(c, options, &metrics_, clock_, random_);
  }

  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }

  /// The recorded requests whose `METHOD target` contains `part`.
  std::vector<RecordedRequest> requests_with(const std::string& part) const {
    std::vector<RecordedRequest> found;
    for (auto& r : peer_.recorded()) {
      if ((r.method + " " + r.target).find(part) != std::string::npos) found.push_back(r);
    }
    return found;
  }

  /// The bodies of the UploadPart requests, in part order.
  std::string parts_body() const {
    std::string body;
    for (int n = 1;; ++n) {
      const auto parts = requests_with("partNumber=" + std::to_string(n) + "&");
      if (parts.empty()) return body;
      body += parts.back().body;
    }
  }

  RecordingS3 peer_;
  FakeClock clock_;
  FakeRandom random_;
  Metrics metrics_;
  std::filesystem::path dir_;
};

TEST_F(S3StoreVerifyTest, ASinglePutReadsTheDescriptorAfterThePathWasReplaced) {
  const std::string written = content(4096, 'a');
  const auto path = write("staged.csv.gz", written);
  const OpenFile fd(path);
  ASSERT_GE(fd.get(), 0);
  std::filesystem::remove(path);
  write("staged.csv.gz", "another writer's file");

  PutRequest put;
  put.key = kKey;
  put.file = path;
  put.fd = fd.get();
  const StoredObject stored = store(config(16 * kMiB))->put(put);

  EXPECT_EQ(stored.bytes, 4096);
  const auto puts = requests_with(std::string("PUT /bucket/") + kKey);
  ASSERT_EQ(puts.size(), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_TRUE(puts[0].body == written) << "the upload read the path, not the descriptor";
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 0) << "the descriptor's offset moved";
}

TEST_F(S3StoreVerifyTest, AMultipartUploadReadsTheDescriptorAfterThePathWasUnlinked) {
  const std::string written = content(11 * kMiB + 3, 'b');  // three parts
  const auto path = write("staged.csv.gz", written);
  const OpenFile fd(path);
  ASSERT_GE(fd.get(), 0);
  std::filesystem::remove(path);

  PutRequest put;
  put.key = kKey;
  put.file = path;
  put.fd = fd.get();
  const StoredObject stored = store(config(5 * kMiB, 2))->put(put);

  EXPECT_EQ(stored.bytes, static_cast<std::int64_t>(written.size()));
  EXPECT_EQ(requests_with("partNumber=").size(), 3u);
  EXPECT_TRUE(parts_body() == written) << "the parts are not the descriptor's bytes";
  EXPECT_EQ(requests_with("POST /bucket/" + std::string(kKey) + "?uploadId=").size(), 1u);
}

}  // namespace
}  // namespace user_export
