// What S3Store sends so that an upload is exactly the staged file its writer produced: it reads
// the writer's descriptor rather than the path, has the server check a checksum of every body,
// and checks the object's size once it is complete. Checked against a local HTTP server that
// records every request with its headers and body and, like S3, refuses a body that does not
// match its checksum.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
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
using testing::RecordedRequest;
using testing::RecordingS3;

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr const char* kKey = "exports/group/run.attempt-1.csv.gz";
constexpr const char* kObjectPath = "/bucket/exports/group/run.attempt-1.csv.gz";

// "abc": its SHA-256 in hex, and in base64 as x-amz-checksum-sha256 carries it.
constexpr const char* kAbcSha256 =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kAbcSha256Base64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The SignedHeaders list of a request's SigV4 Authorization header, as `;a;b;c;`.
std::string signed_headers(const RecordedRequest& request) {
  const std::string auth = request.header("Authorization");
  const auto from = auth.find("SignedHeaders=");
  if (from == std::string::npos) return "";
  const auto start = from + std::string("SignedHeaders=").size();
  return ";" + auth.substr(start, auth.find(',', start) - start) + ";";
}

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

/// Base64 of the raw digest of `bytes` (as Content-MD5 and x-amz-checksum-sha256 carry it).
std::string base64_digest(Digest::Kind kind, std::string_view bytes) {
  Digest d(kind);
  d.update(bytes);
  return to_base64(d.finish());
}

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex_of(std::string_view bytes) {
  Digest d;
  d.update(bytes);
  return to_hex(d.finish());
}

class S3StoreVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { peer_.hold = false; }

  /// Files up to `multipart_threshold` bytes go up with one PUT; parts are 5 MiB.
  StoreConfig config(std::uint64_t multipart_threshold, int parallel_parts = 1) const {
    StoreConfig c = peer_.store_config();
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

  /// A request to upload `path` through `fd`, verified against `bytes` and `sha256`.
  static PutRequest verified(const std::filesystem::path& path, int fd, std::int64_t bytes,
                             const std::string& sha256) {
    PutRequest put;
    put.key = kKey;
    put.file = path;
    put.fd = fd;
    put.bytes = bytes;
    put.sha256 = sha256;
    return put;
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
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  testing::TempDir dir_{"ue-s3-verify"};
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

TEST_F(S3StoreVerifyTest, ASinglePutCarriesTheFilesSha256SignedAndAHeadChecksTheSize) {
  const auto path = write("staged.csv.gz", "abc");
  const OpenFile fd(path);

  const StoredObject stored =
      store(config(16 * kMiB))->put(verified(path, fd.get(), 3, kAbcSha256));

  EXPECT_EQ(stored.bytes, 3);
  EXPECT_EQ(stored.sha256, kAbcSha256);
  const auto puts = requests_with(std::string("PUT ") + kObjectPath);
  ASSERT_EQ(puts.size(), 1u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(puts[0].header("x-amz-checksum-sha256"), kAbcSha256Base64);
  // libcurl signs every header it is given, so a proxy cannot strip or alter the checksum.
  EXPECT_TRUE(contains(signed_headers(puts[0]), ";x-amz-checksum-sha256;"))
      << puts[0].header("Authorization");
  EXPECT_TRUE(contains(signed_headers(puts[0]), ";x-amz-content-sha256;"));
  const auto requests = peer_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back(), std::string("HEAD ") + kObjectPath)
      << "no HEAD followed the upload: " << ::testing::PrintToString(requests);
  EXPECT_EQ(peer_.count("DELETE "), 0u);
}

TEST_F(S3StoreVerifyTest, WithoutASha256NothingIsCheckedAsBefore) {
  const auto path = write("staged.csv.gz", "abc");
  PutRequest put;
  put.key = kKey;
  put.file = path;
  put.bytes = 999;  // ignored without a digest

  const StoredObject stored = store(config(16 * kMiB))->put(put);

  EXPECT_EQ(stored.bytes, 3);
  EXPECT_EQ(stored.sha256, "");
  const auto puts = requests_with(std::string("PUT ") + kObjectPath);
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].header("x-amz-checksum-sha256"), "");
  EXPECT_EQ(puts[0].header("Content-MD5"), "");
  EXPECT_EQ(peer_.count("HEAD /bucket/"), 0u) << ::testing::PrintToString(peer_.requests());
}

TEST_F(S3StoreVerifyTest, ASinglePutOfOtherBytesIsRefusedByTheServerOnceAsARetriableError) {
  const auto path = write("staged.csv.gz", "abd");  // not the bytes whose digest is given
  const OpenFile fd(path);
  try {
    store(config(16 * kMiB))->put(verified(path, fd.get(), 3, kAbcSha256));
    FAIL() << "bytes that do not match their digest were stored";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_TRUE(contains(e.what(), "did not match their checksum")) << e.what();
    EXPECT_TRUE(contains(e.what(), "XAmzContentChecksumMismatch")) << e.what();
    EXPECT_FALSE(contains(e.what(), "gave up after")) << e.what();
  }
  EXPECT_EQ(peer_.count("PUT /bucket/"), 1u) << "the refused PUT was sent again";
  EXPECT_TRUE(clock_.sleeps().empty());
  EXPECT_FALSE(peer_.has_object(kObjectPath));
  EXPECT_EQ(metrics_.value("users_export_s3_failures_total"), 1.0);
}

TEST_F(S3StoreVerifyTest, AFileOfAnotherSizeThanItsWriterWroteIsNotUploaded) {
  const auto path = write("staged.csv.gz", "abcd");
  const OpenFile fd(path);
  try {
    store(config(0))->put(verified(path, fd.get(), 3, kAbcSha256));
    FAIL() << "a file of the wrong size was uploaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_TRUE(contains(e.what(), "holds 4 bytes but its writer wrote 3")) << e.what();
  }
  EXPECT_EQ(peer_.count("PUT /bucket/"), 0u) << ::testing::PrintToString(peer_.requests());
  EXPECT_EQ(peer_.count("uploads"), 0u);
}

TEST_F(S3StoreVerifyTest, AnObjectOfAnotherSizeIsRemovedAndTheErrorNamesBothSizes) {
  peer_.size_error = -1;  // the store lost a byte
  const auto path = write("staged.csv.gz", "abc");
  const OpenFile fd(path);
  try {
    store(config(16 * kMiB))->put(verified(path, fd.get(), 3, kAbcSha256));
    FAIL() << "an object of the wrong size was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_TRUE(contains(e.what(), std::string("'") + kKey + "'")) << e.what();
    EXPECT_TRUE(contains(e.what(), "should hold the 3 bytes")) << e.what();
    EXPECT_TRUE(contains(e.what(), "an object of 2 bytes")) << e.what();
    EXPECT_TRUE(contains(e.what(), "it was removed")) << e.what();
  }
  const auto requests = peer_.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[requests.size() - 2], std::string("HEAD ") + kObjectPath);
  EXPECT_EQ(requests.back(), std::string("DELETE ") + kObjectPath);
  EXPECT_FALSE(peer_.has_object(kObjectPath));
}

TEST_F(S3StoreVerifyTest, AHeadFollowsTheCompletionOfAMultipartUpload) {
  const std::string written = content(6 * kMiB, 'c');
  const auto path = write("staged.csv.gz", written);
  const OpenFile fd(path);
  const std::string sha = sha256_hex_of(written);

  const StoredObject stored =
      store(config(5 * kMiB))
          ->put(verified(path, fd.get(), static_cast<std::int64_t>(written.size()), sha));

  EXPECT_EQ(stored.sha256, sha);
  const auto requests = peer_.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[requests.size() - 2],
            std::string("POST ") + kObjectPath + "?uploadId=" + RecordingS3::kUploadId);
  EXPECT_EQ(requests.back(), std::string("HEAD ") + kObjectPath);
}

TEST_F(S3StoreVerifyTest, ADigestThatIsNotLowerCaseHexIsRefusedBeforeAnyRequest) {
  const auto path = write("staged.csv.gz", "abc");
  for (const std::string& bad : {std::string("abc"), std::string(kAbcSha256).substr(1) + "G",
                                 std::string("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410F"
                                             "F61F20015AD")}) {
    PutRequest put = verified(path, -1, 3, bad);
    try {
      store(config(16 * kMiB))->put(put);
      FAIL() << "accepted SHA-256 '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInternal) << e.what();
      EXPECT_TRUE(contains(e.what(), bad)) << e.what();
    }
  }
  EXPECT_TRUE(peer_.requests().empty()) << ::testing::PrintToString(peer_.requests());
}

TEST_F(S3StoreVerifyTest, EveryPartCarriesTheSignedContentMd5OfItsBytes) {
  const std::string written = content(16 * kMiB + 5, 'd');  // four parts, the last of 5 bytes
  const auto path = write("staged.csv.gz", written);
  const OpenFile fd(path);

  const StoredObject stored =
      store(config(5 * kMiB, 2))
          ->put(verified(path, fd.get(), static_cast<std::int64_t>(written.size()),
                         sha256_hex_of(written)));

  EXPECT_EQ(stored.sha256, sha256_hex_of(written));
  for (int n = 1; n <= 4; ++n) {
    const auto parts = requests_with("partNumber=" + std::to_string(n) + "&");
    ASSERT_EQ(parts.size(), 1u) << "part " << n;
    const std::uint64_t offset = static_cast<std::uint64_t>(n - 1) * 5 * kMiB;
    const std::string expected =
        base64_digest(Digest::Kind::kMd5, std::string_view(written).substr(offset, 5 * kMiB));
    EXPECT_EQ(parts[0].header("Content-MD5"), expected) << "part " << n;
    EXPECT_TRUE(contains(signed_headers(parts[0]), ";content-md5;"))
        << parts[0].header("Authorization");
  }
  EXPECT_EQ(requests_with("POST " + std::string(kObjectPath) + "?uploadId=").size(), 1u);
  EXPECT_EQ(requests_with("uploads")[0].header("Content-MD5"), "");
}

TEST_F(S3StoreVerifyTest, PartsOfAFileThatIsNotTheWritersAreAbortedNotCompleted) {
  for (const int parallel : {1, 2}) {
    SCOPED_TRACE("parallel_parts=" + std::to_string(parallel));
    RecordingS3 peer;
    peer.hold = false;
    auto c = config(5 * kMiB, parallel);
    c.s3_endpoint = peer.endpoint();
    const std::string written = content(12 * kMiB, 'e');
    std::string changed = written;
    changed[7 * kMiB] ^= 0x01;  // one bit of part 2 differs from what the writer digested
    const auto path = write("staged.csv.gz", changed);
    const OpenFile fd(path);
    try {
      store(c)->put(verified(path, fd.get(), static_cast<std::int64_t>(written.size()),
                             sha256_hex_of(written)));
      FAIL() << "a file that is not the writer's was uploaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kStorage);
      EXPECT_TRUE(e.retriable()) << e.what();
      EXPECT_TRUE(contains(e.what(), "have SHA-256 " + sha256_hex_of(changed))) << e.what();
      EXPECT_TRUE(contains(e.what(), "not the " + sha256_hex_of(written))) << e.what();
      EXPECT_TRUE(contains(e.what(), "changed under the upload")) << e.what();
    }
    const auto requests = peer.requests();
    EXPECT_EQ(
        peer.count(std::string("DELETE ") + kObjectPath + "?uploadId=" + RecordingS3::kUploadId),
        1u)
        << ::testing::PrintToString(requests);
    EXPECT_EQ(peer.count(std::string("POST ") + kObjectPath + "?uploadId="), 0u)
        << "the upload was completed: " << ::testing::PrintToString(requests);
    EXPECT_EQ(peer.count("partNumber=3"), 0u) << "the last part was sent after the mismatch";
    EXPECT_EQ(peer.count("HEAD /bucket/exports"), 0u);
    EXPECT_FALSE(peer.has_object(kObjectPath));
  }
}

TEST_F(S3StoreVerifyTest, AFileThatShrankUnderAMultipartUploadIsAbortedAsRetriable) {
  const std::string written = content(11 * kMiB, 'f');
  const auto path = write("staged.csv.gz", written);
  const OpenFile fd(path);
  const std::string sha = sha256_hex_of(written);
  peer_.on_upload = [&] { std::filesystem::resize_file(path, 6 * kMiB); };  // during part 1
  try {
    store(config(5 * kMiB))
        ->put(verified(path, fd.get(), static_cast<std::int64_t>(written.size()), sha));
    FAIL() << "a truncated file was uploaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage) << e.what();
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_TRUE(contains(e.what(), "ends at byte 6291456 of 11534336")) << e.what();
  }
  EXPECT_EQ(peer_.count(std::string("DELETE ") + kObjectPath + "?uploadId="), 1u);
  EXPECT_EQ(peer_.count(std::string("POST ") + kObjectPath + "?uploadId="), 0u);
}

}  // namespace
}  // namespace user_export
