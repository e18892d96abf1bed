// The S3 store against a signature-checking S3 server (s3rver, started by scripts/services/s3.sh).
// Every object is read back with an independent client, the curl command-line program with its
// own SigV4 signing, and compared by SHA-256. Each test uses its own bucket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "format/gzip_file_sink.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"
#include "support/fake_clock.hpp"
#include "support/s3/s3_test_peer.hpp"

namespace user_export {
namespace {

using testing::CurlS3Client;
using testing::PrivateS3Peer;
using testing::S3PeerEnv;
using testing::TempDir;

constexpr std::uint64_t kMiB = 1ull << 20;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// An upload of `file` (opened by path, not verified).
PutRequest request_for(std::string key, std::filesystem::path file, std::string content_type,
                       std::map<std::string, std::string> metadata) {
  PutRequest put;
  put.key = std::move(key);
  put.file = std::move(file);
  put.content_type = std::move(content_type);
  put.metadata = std::move(metadata);
  return put;
}

class S3StoreIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto env = testing::s3_peer_from_environment();
    UE_SKIP_UNLESS_SERVICE(env,
                           "UE_TEST_S3_ENDPOINT, UE_TEST_S3_ACCESS_KEY and UE_TEST_S3_SECRET_KEY "
                           "are not set; start the server with scripts/services/s3.sh");
    peer_ = *env;
    bucket_ = unique_bucket();
  }

  /// A bucket name made of the test's name and a random suffix.
  static std::string unique_bucket() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string bucket = "ue-";
    for (const char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) != 0) bucket.push_back(static_cast<char>(std::tolower(u)));
      if (bucket.size() >= 40) break;
    }
    SystemRandom random;
    static constexpr char kHex[] = "0123456789abcdef";
    bucket.push_back('-');
    for (std::uint64_t r = random.next_u64(), i = 0; i < 10; ++i, r >>= 4) {
      bucket.push_back(kHex[r & 0xF]);
    }
    return bucket;
  }

  StoreConfig config_for(const S3PeerEnv& peer) const {
    StoreConfig c;
    c.url = "s3://" + bucket_ + "/exports";
    c.s3_endpoint = peer.endpoint;
    c.s3_region = "us-east-1";
    c.s3_path_style = true;
    c.access_key = peer.access_key;
    c.secret_key = peer.secret_key;
    c.ca_bundle = peer.ca_bundle;
    c.connect_timeout = std::chrono::milliseconds{2000};
    c.request_timeout = std::chrono::milliseconds{60000};
    c.part_size = 5 * kMiB;
    c.multipart_threshold = 5 * kMiB;
    c.parallel_parts = 2;
    return c;
  }

  std::unique_ptr<S3Store> make_store(const StoreConfig& c, int attempts = 4) {
    S3StoreOptions options;
    options.request_retry.max_attempts = attempts;
    options.clock = &clock_;
    return std::make_unique<S3Store>(c, options, &metrics_, clock_, random_);
  }

  std::filesystem::path staged(const std::string& name, std::uint64_t size, std::uint64_t seed) {
    const auto path = dir_.path() / name;
    testing::write_random_file(path, size, seed);
    return path;
  }

  /// Reads `encoded_key` back with curl and returns its SHA-256 ("" when the GET failed).
  std::string read_back_sha256(const S3PeerEnv& peer, const std::string& encoded_key) {
    const auto out = dir_.path() / "read-back";
    const int status = CurlS3Client(peer).get(bucket_ + "/" + encoded_key, out);
    if (status != 200) return "GET answered " + std::to_string(status);
    return testing::sha256_of_file(out);
  }

  double metric(const std::string& name) const { return metrics_.value(name); }

  /// Log lines of requests to this test's bucket that contain `part` (the log is shared by every
  /// test using the same server).
  std::vector<std::string> requests_with(const S3PeerEnv& peer, const std::string& part) const {
    std::vector<std::string> found;
    for (const auto& line : testing::request_log_lines(peer)) {
      if (contains(line, "\"url\":\"/" + bucket_) && contains(line, part)) found.push_back(line);
    }
    return found;
  }

  S3PeerEnv peer_;
  std::string bucket_;
  testing::FakeClock clock_;
  testing::FakeRandom random_;
  Metrics metrics_;
  TempDir dir_{"ue-s3-test"};
};

TEST_F(S3StoreIntegrationTest, SinglePutReadsBackWithSameSha256ContentTypeAndMetadata) {
  auto store = make_store(config_for(peer_));
  const auto file = staged("single.csv.gz", kMiB + 7, 1);
  const std::string sha = testing::sha256_of_file(file);
  const std::string key = "exports/d/g/2026-01-01T2059Z/run-1.csv.gz";

  const StoredObject stored =
      store->put(request_for(key, file, "application/gzip",
                             {{"schema-version", "1"}, {"row-count", "1234"}, {"sha256", sha}}));

  EXPECT_EQ(stored.bucket, bucket_);
  EXPECT_EQ(stored.key, key);
  EXPECT_EQ(stored.url, "s3://" + bucket_ + "/" + key);
  EXPECT_EQ(stored.bytes, static_cast<std::int64_t>(kMiB + 7));
  EXPECT_EQ(store->key_prefix(), "exports");
  EXPECT_EQ(read_back_sha256(peer_, key), sha);
  auto head = CurlS3Client(peer_).head(bucket_ + "/" + key);
  EXPECT_EQ(head[":status"], "200");
  EXPECT_EQ(head["content-type"], "application/gzip");
  EXPECT_EQ(head["x-amz-meta-row-count"], "1234");
  EXPECT_EQ(head["x-amz-meta-schema-version"], "1");
  EXPECT_EQ(head["x-amz-meta-sha256"], sha);
  EXPECT_EQ(requests_with(peer_, "uploads").size(), 0u) << "a small file went multipart";
  EXPECT_EQ(metric("users_export_s3_uploads_total"), 1);
  EXPECT_EQ(metric("users_export_s3_upload_bytes_total"), static_cast<double>(kMiB + 7));
  EXPECT_EQ(metric("users_export_s3_retries_total"), 0);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(S3StoreIntegrationTest, ReadStreamsTheObjectBackAndRefusesAnAbsentOne) {
  auto store = make_store(config_for(peer_));
  const auto file = staged("read.csv.gz", 3 * kMiB + 11, 3);
  const std::string sha = testing::sha256_of_file(file);
  const std::string key = "exports/read/run-3.csv.gz";
  store->put(request_for(key, file, "application/gzip", {{"sha256", sha}}));

  Digest digest(Digest::Kind::kSha256);
  std::uint64_t bytes = 0;
  std::size_t chunks = 0;
  store->read(key, [&](std::string_view chunk) {
    digest.update(chunk);
    bytes += chunk.size();
    ++chunks;
  });
  EXPECT_EQ(bytes, 3 * kMiB + 11);
  EXPECT_EQ(to_hex(digest.finish()), sha);
  EXPECT_GT(chunks, 1u) << "the body was handed on in one piece";

  try {
    store->read("exports/read/absent.csv.gz", [](std::string_view) {});
    FAIL() << "an absent object was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e.what(), "is not in bucket")) << e.what();
  }
  EXPECT_TRUE(clock_.sleeps().empty()) << "a 404 was retried";
}

TEST_F(S3StoreIntegrationTest, MultipartUploadOfFourPartsReadsBackWithSameSha256) {
  auto store = make_store(config_for(peer_));
  const std::uint64_t size = 15 * kMiB + 4097;  // 3 full 5 MiB parts and a short fourth
  const auto file = staged("multi.csv.gz", size, 2);
  const std::string sha = testing::sha256_of_file(file);
  const std::string key = "exports/multi/run-2.csv.gz";

  store->put(request_for(key, file, "application/gzip", {{"sha256", sha}, {"row-count", "9"}}));

  EXPECT_EQ(read_back_sha256(peer_, key), sha);
  auto head = CurlS3Client(peer_).head(bucket_ + "/" + key);
  EXPECT_EQ(head["content-length"], std::to_string(size));
  EXPECT_EQ(head["content-type"], "application/gzip");
  EXPECT_EQ(head["x-amz-meta-sha256"], sha);
  // The query strings libcurl 7.88 signs as written: `?uploads=` and sorted parameters.
  const std::string path = "/" + bucket_ + "/" + key;
  EXPECT_EQ(requests_with(peer_, "\"url\":\"" + path + "?uploads=\",\"status\":200").size(), 1u);
  for (int n = 1; n <= 4; ++n) {
    const auto parts = requests_with(
        peer_, "\"url\":\"" + path + "?partNumber=" + std::to_string(n) + "&uploadId=");
    ASSERT_EQ(parts.size(), 1u) << "part " << n;
    EXPECT_TRUE(contains(parts[0], "\"status\":200")) << parts[0];
  }
  EXPECT_EQ(requests_with(peer_, "?partNumber=5").size(), 0u);
  const auto completes =
      requests_with(peer_, "\"method\":\"POST\",\"url\":\"" + path + "?uploadId=");
  ASSERT_EQ(completes.size(), 1u);
  EXPECT_TRUE(contains(completes[0], "\"status\":200")) << completes[0];
  EXPECT_EQ(metric("users_export_s3_uploads_total"), 1);
  EXPECT_EQ(metric("users_export_s3_upload_bytes_total"), static_cast<double>(size));
}

/// The peak resident set size of this process so far, in bytes.
std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
}

TEST_F(S3StoreIntegrationTest, UploadsStreamTheFileInsteadOfHoldingItInMemory) {
  const std::uint64_t size = 64 * kMiB;
  const auto file = staged("large", size, 5);
  const std::int64_t before = peak_rss_bytes();
  auto c = config_for(peer_);
  c.multipart_threshold = 2 * size;  // one PUT of the whole file
  make_store(c)->put(request_for("exports/large-single.csv.gz", file, "application/gzip", {}));
  make_store(config_for(peer_))
      ->put(request_for("exports/large-multi.csv.gz", file, "application/gzip", {}));
  const std::int64_t growth = peak_rss_bytes() - before;
  // Holding the file would add at least its size; half of it leaves room for AddressSanitizer's
  // quarantine of freed transfer buffers (about 22 MiB here, 6 MiB without sanitizers).
  EXPECT_LT(growth, static_cast<std::int64_t>(size / 2))
      << "uploading a " << size / kMiB << " MiB file raised the peak memory by " << growth / kMiB
      << " MiB";
  const std::string sha = testing::sha256_of_file(file);
  EXPECT_EQ(read_back_sha256(peer_, "exports/large-single.csv.gz"), sha);
  EXPECT_EQ(read_back_sha256(peer_, "exports/large-multi.csv.gz"), sha);
}

TEST_F(S3StoreIntegrationTest, KeysWithSpacesPlusSlashesAndNonAsciiRoundTrip) {
  auto store = make_store(config_for(peer_));
  struct Case {
    std::string key;
    std::string encoded;  // spelt out by hand: the test does not trust the store's encoder
    std::uint64_t size;
  };
  const std::vector<Case> cases = {
      {"exports/dir one/a+b.csv.gz", "exports/dir%20one/a%2Bb.csv.gz", 1000},
      {"exports/deep/x/y/z.csv.gz", "exports/deep/x/y/z.csv.gz", 10},
      {"exports/\xC3\xA9t\xC3\xA9/na\xC3\xAFve file.csv.gz",
       "exports/%C3%A9t%C3%A9/na%C3%AFve%20file.csv.gz", 2000},
      {"exports/odd/~tilde_(1)*!=.csv.gz", "exports/odd/~tilde_%281%29%2A%21%3D.csv.gz", 3},
      {"exports/big one/x+y \xE2\x82\xAC.csv.gz", "exports/big%20one/x%2By%20%E2%82%AC.csv.gz",
       11 * kMiB},  // multipart: ?uploads= and the part queries on an encoded path
  };
  std::uint64_t seed = 10;
  for (const auto& c : cases) {
    const auto file = staged("k" + std::to_string(seed), c.size, seed);
    ++seed;
    ASSERT_NO_THROW(store->put(request_for(c.key, file, "application/gzip", {}))) << c.key;
    EXPECT_EQ(read_back_sha256(peer_, c.encoded), testing::sha256_of_file(file)) << c.key;
  }
  const std::string listing = CurlS3Client(peer_).get_text(bucket_ + "?prefix=exports%2F");
  for (const auto& c : cases) {
    EXPECT_TRUE(contains(listing, "<Key>" + c.key + "</Key>"))
        << c.key << " not listed in " << listing;
  }
}

TEST_F(S3StoreIntegrationTest, RetriedRunOverwritesTheSameKeyInsteadOfDuplicating) {
  auto store = make_store(config_for(peer_));
  const std::string key = "exports/g/run-3.csv.gz";
  store->put(request_for(key, staged("first", 6 * kMiB, 20), "application/gzip", {}));
  const auto second = staged("second", 2 * kMiB, 21);
  store->put(request_for(key, second, "application/gzip", {}));

  EXPECT_EQ(read_back_sha256(peer_, key), testing::sha256_of_file(second));
  const std::string listing = CurlS3Client(peer_).get_text(bucket_ + "?prefix=exports%2Fg%2F");
  std::size_t keys = 0;
  for (auto pos = listing.find("<Key>"); pos != std::string::npos;
       pos = listing.find("<Key>", pos + 1)) {
    ++keys;
  }
  EXPECT_EQ(keys, 1u) << listing;
}

TEST_F(S3StoreIntegrationTest, EnsureReadyCreatesTheBucketOnceAndLaterCallsSendNothing) {
  auto store = make_store(config_for(peer_));
  CurlS3Client curl(peer_);
  EXPECT_EQ(curl.head(bucket_)[":status"], "404");

  store->ensure_ready();
  EXPECT_EQ(curl.head(bucket_)[":status"], "200");
  const auto before = requests_with(peer_, "/" + bucket_).size();
  store->ensure_ready();
  store->ensure_ready();
  EXPECT_EQ(requests_with(peer_, "/" + bucket_).size(), before);

  auto other = make_store(config_for(peer_));  // another process: the bucket already exists
  EXPECT_NO_THROW(other->ensure_ready());
}

TEST_F(S3StoreIntegrationTest, ConcurrentBucketCreationByAnotherInstanceIsSuccess) {
  TempDir dir("ue-s3-peer");
  PrivateS3Peer racing(dir.path(), "--concurrent-create 1");
  auto store = make_store(config_for(racing.env()));

  ASSERT_NO_THROW(store->ensure_ready());

  // The server answered the creation with 409, as it does when another client won the race.
  const auto creates = requests_with(racing.env(), "\"method\":\"PUT\",\"url\":\"/" + bucket_);
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_TRUE(contains(creates[0], "\"status\":409")) << creates[0];
  const auto file = staged("after-race", 1000, 30);
  store->put(request_for("exports/r.csv.gz", file, "application/gzip", {}));
  EXPECT_EQ(read_back_sha256(racing.env(), "exports/r.csv.gz"), testing::sha256_of_file(file));
}

TEST_F(S3StoreIntegrationTest, ParallelBucketChecksFromSeveralStoresAllSucceed) {
  std::vector<std::unique_ptr<S3Store>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(make_store(config_for(peer_)));
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    for (auto& s : stores) {
      threads.emplace_back([&failures, store = s.get()] {
        try {
          store->ensure_ready();
        } catch (const std::exception&) {
          ++failures;
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CurlS3Client(peer_).head(bucket_)[":status"], "200");
}

TEST_F(S3StoreIntegrationTest, ConcurrentPutsFromSeveralThreadsAllLand) {
  auto store = make_store(config_for(peer_));
  const auto a = staged("a", 11 * kMiB, 40);
  const auto b = staged("b", 12 * kMiB + 1, 41);
  const auto c = staged("c", 100, 42);
  {
    std::jthread ta(
        [&] { store->put(request_for("exports/t/a.csv.gz", a, "application/gzip", {})); });
    std::jthread tb(
        [&] { store->put(request_for("exports/t/b.csv.gz", b, "application/gzip", {})); });
    store->put(request_for("exports/t/c.csv.gz", c, "application/gzip", {}));
  }
  EXPECT_EQ(read_back_sha256(peer_, "exports/t/a.csv.gz"), testing::sha256_of_file(a));
  EXPECT_EQ(read_back_sha256(peer_, "exports/t/b.csv.gz"), testing::sha256_of_file(b));
  EXPECT_EQ(read_back_sha256(peer_, "exports/t/c.csv.gz"), testing::sha256_of_file(c));
  EXPECT_EQ(metric("users_export_s3_uploads_total"), 3);
}

TEST_F(S3StoreIntegrationTest, EmptyMetadataValuesAreNotSentAndTheSignatureStillMatches) {
  auto store = make_store(config_for(peer_));
  const auto file = staged("meta", 500, 50);
  store->put(request_for("exports/m.csv.gz", file, "application/gzip",
                         {{"note", ""}, {"blank", "  "}, {"row-count", "3"}}));
  auto head = CurlS3Client(peer_).head(bucket_ + "/exports/m.csv.gz");
  EXPECT_EQ(head[":status"], "200");
  EXPECT_EQ(head["x-amz-meta-row-count"], "3");
  EXPECT_EQ(head.count("x-amz-meta-note"), 0u);
  EXPECT_EQ(head.count("x-amz-meta-blank"), 0u);
}

TEST_F(S3StoreIntegrationTest, WrongSecretFailsFastWithAClearAuthenticationError) {
  auto c = config_for(peer_);
  c.secret_key = "not-the-secret";
  auto store = make_store(c, 5);
  const auto file = staged("auth", 100, 60);
  try {
    store->put(request_for("exports/a.csv.gz", file, "application/gzip", {}));
    FAIL() << "a wrong secret was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e.what(), "secret key is wrong")) << e.what();
    EXPECT_TRUE(contains(e.what(), "AWS_SECRET_ACCESS_KEY")) << e.what();
    EXPECT_TRUE(contains(e.what(), "'" + peer_.access_key + "'")) << e.what();
    EXPECT_FALSE(contains(e.what(), "not-the-secret")) << "the secret leaked into the message";
  }
  EXPECT_TRUE(clock_.sleeps().empty()) << "an authentication error was retried";
  EXPECT_EQ(metric("users_export_s3_retries_total"), 0);
  EXPECT_EQ(metric("users_export_s3_failures_total"), 1);
  // No retry storm: the HEAD and the GET that explains it, nothing more.
  EXPECT_LE(requests_with(peer_, "/" + bucket_).size(), 2u);
  EXPECT_EQ(CurlS3Client(peer_).head(bucket_)[":status"], "404") << "the bucket was created";
}

TEST_F(S3StoreIntegrationTest, UnknownAccessKeyNamesTheAccessKeyVariable) {
  auto c = config_for(peer_);
  c.access_key = "NOBODY";
  auto store = make_store(c);
  try {
    store->ensure_ready();
    FAIL() << "an unknown access key was accepted";
  } catch (const Error& e) {
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e.what(), "AWS_ACCESS_KEY_ID")) << e.what();
    EXPECT_TRUE(contains(e.what(), "'NOBODY'")) << e.what();
  }
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(S3StoreIntegrationTest, BucketDeletedAfterTheCheckFailsFastNamingTheBucket) {
  auto store = make_store(config_for(peer_));
  store->ensure_ready();
  ASSERT_EQ(CurlS3Client(peer_).remove(bucket_), 204);
  try {
    store->put(request_for("exports/x.csv.gz", staged("x", 100, 70), "application/gzip", {}));
    FAIL() << "upload to a missing bucket succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e.what(), "bucket '" + bucket_ + "' does not exist")) << e.what();
  }
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(S3StoreIntegrationTest, StaleUploadCleanUpIsSkippedWhereTheServerLacksTheListing) {
  auto c = config_for(peer_);
  c.abort_incomplete_after = std::chrono::hours{1};
  auto store = make_store(c);
  ASSERT_NO_THROW(store->ensure_ready());
  // s3rver answers ListMultipartUploads with 501 NotImplemented; the store asked, in canonical
  // form (sorted, `uploads=`), and carried on.
  const auto listed =
      requests_with(peer_, "\"url\":\"/" + bucket_ + "?prefix=exports%2F&uploads=\"");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(contains(listed[0], "\"status\":501")) << listed[0];
  const auto file = staged("after-cleanup", 100, 80);
  store->put(request_for("exports/after.csv.gz", file, "application/gzip", {}));
  EXPECT_EQ(read_back_sha256(peer_, "exports/after.csv.gz"), testing::sha256_of_file(file));
}

TEST_F(S3StoreIntegrationTest, FailingPartsAreRetriedThenTheUploadIsAbortedAndReported) {
  TempDir dir("ue-s3-peer");
  PrivateS3Peer failing(dir.path(), "--fail-parts-status 503");
  auto store = make_store(config_for(failing.env()), 3);
  const std::string key = "exports/fails.csv.gz";
  try {
    store->put(request_for(key, staged("fails", 12 * kMiB, 90), "application/gzip", {}));
    FAIL() << "the upload succeeded although every part failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << "a 503 must leave the run retriable";
    EXPECT_TRUE(contains(e.what(), "HTTP 503")) << e.what();
    EXPECT_TRUE(contains(e.what(), "gave up after 3 attempts")) << e.what();
  }
  EXPECT_GE(clock_.sleeps().size(), 2u);
  EXPECT_GE(metric("users_export_s3_retries_total"), 2);
  EXPECT_EQ(metric("users_export_s3_failures_total"), 1);
  EXPECT_EQ(metric("users_export_s3_uploads_total"), 0);
  // The store asked to abort the upload; s3rver does not implement AbortMultipartUpload (405),
  // which is counted and logged rather than hiding the real error.
  const auto aborts = requests_with(
      failing.env(), "\"method\":\"DELETE\",\"url\":\"/" + bucket_ + "/" + key + "?uploadId=");
  ASSERT_EQ(aborts.size(), 1u);
  EXPECT_TRUE(contains(aborts[0], "\"status\":405")) << aborts[0];
  EXPECT_EQ(metric("users_export_s3_abort_failures_total"), 1);
  EXPECT_EQ(requests_with(failing.env(),
                          "\"method\":\"POST\",\"url\":\"/" + bucket_ + "/" + key + "?uploadId=")
                .size(),
            0u)
      << "a failed upload was completed";
  EXPECT_EQ(CurlS3Client(failing.env()).head(bucket_ + "/" + key)[":status"], "404");
}

TEST_F(S3StoreIntegrationTest, ServerStoppedMidUploadRetriesThenFailsAndALaterRunSucceeds) {
  TempDir dir("ue-s3-peer");
  const std::string key = "exports/crash/run-4.csv.gz";
  const auto file = staged("crash", 16 * kMiB + 5, 100);  // 4 parts; the server dies on part 2
  {
    PrivateS3Peer crashing(dir.path(), "--crash-on-part 2");
    auto store = make_store(config_for(crashing.env()), 3);
    try {
      store->put(request_for(key, file, "application/gzip", {}));
      FAIL() << "the upload succeeded although the server died";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kStorage);
      EXPECT_TRUE(e.retriable()) << e.what();
      EXPECT_TRUE(contains(e.what(), "connection failed")) << e.what();
    }
    EXPECT_GE(clock_.sleeps().size(), 2u) << "the parts were not retried";
    EXPECT_GE(metric("users_export_s3_retries_total"), 2);
    EXPECT_EQ(metric("users_export_s3_failures_total"), 1);

    // The same server restarted on its data: the bucket and the dead upload's parts are there;
    // a new attempt of the run uploads the same key again.
    PrivateS3Peer restarted(dir.path(), "");
    auto again = make_store(config_for(restarted.env()));
    const StoredObject stored = again->put(request_for(key, file, "application/gzip", {}));
    EXPECT_EQ(stored.bytes, static_cast<std::int64_t>(16 * kMiB + 5));
    EXPECT_EQ(read_back_sha256(restarted.env(), key), testing::sha256_of_file(file));
  }
}

TEST_F(S3StoreIntegrationTest, RequestsThatHangAreCutByTheRequestTimeoutAndRetried) {
  TempDir dir("ue-s3-peer");
  PrivateS3Peer hanging(dir.path(), "--stall-parts 1");
  auto c = config_for(hanging.env());
  c.request_timeout = std::chrono::milliseconds{800};
  c.parallel_parts = 1;
  auto store = make_store(c, 2);
  const auto started = std::chrono::steady_clock::now();
  try {
    store->put(
        request_for("exports/hang.csv.gz", staged("hang", 6 * kMiB, 120), "application/gzip", {}));
    FAIL() << "an upload to a hanging server succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << e.what();
    EXPECT_TRUE(contains(e.what(), "Timeout was reached")) << e.what();
    EXPECT_TRUE(contains(e.what(), "gave up after 2 attempts")) << e.what();
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds{20}) << "the request timeout was not applied";
  EXPECT_EQ(clock_.sleeps().size(), 1u);  // the part's one retry; the abort is answered at once
}

TEST_F(S3StoreIntegrationTest, HttpsEndpointIsVerifiedAgainstTheConfiguredCaBundle) {
  TempDir dir("ue-s3-peer");
  PrivateS3Peer tls(dir.path(), "", /*tls=*/true);
  ASSERT_EQ(tls.env().endpoint.rfind("https://", 0), 0u) << tls.env().endpoint;
  ASSERT_FALSE(tls.env().ca_bundle.empty());

  // Verification is on by default: a self-signed certificate is refused, at once.
  auto no_ca = config_for(tls.env());
  no_ca.ca_bundle.clear();
  auto untrusting = make_store(no_ca);
  try {
    untrusting->ensure_ready();
    FAIL() << "an unverified certificate was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e.what(), "CA bundle")) << e.what();
  }
  EXPECT_TRUE(clock_.sleeps().empty());

  auto trusting = make_store(config_for(tls.env()));  // trusts the peer's certificate
  const auto file = staged("tls", 6 * kMiB, 110);
  trusting->put(request_for("exports/tls.csv.gz", file, "application/gzip", {}));
  EXPECT_EQ(read_back_sha256(tls.env(), "exports/tls.csv.gz"), testing::sha256_of_file(file));

  auto unverified = config_for(tls.env());
  unverified.verify_tls = false;
  EXPECT_NO_THROW(make_store(unverified)->ensure_ready());
}

TEST_F(S3StoreIntegrationTest, VerifiedUploadsThroughTheWritersDescriptorReturnTheSha256) {
  // As the exporter uploads: through the descriptor its writer created, with the writer's size
  // and SHA-256. The server checks the signature over the checksum headers (x-amz-checksum-sha256
  // on the PUT, Content-MD5 on each part), so it also shows that libcurl signed what it sent.
  auto store = make_store(config_for(peer_));
  struct Case {
    std::string key;
    std::uint64_t size;
  };
  std::uint64_t seed = 130;
  for (const Case& c : {Case{"exports/v/single.csv.gz", kMiB + 7},
                        Case{"exports/v/multi.csv.gz", 15 * kMiB + 4097}}) {
    const auto file = staged("verified" + std::to_string(seed), c.size, seed);
    const std::string sha = testing::sha256_of_file(file);
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    // Another file now has the path: the upload must still be the writer's bytes.
    std::filesystem::remove(file);
    testing::write_random_file(file, 1000, seed + 100);
    PutRequest put = request_for(c.key, file, "application/gzip", {{"sha256", sha}});
    put.fd = fd;
    put.bytes = static_cast<std::int64_t>(c.size);
    put.sha256 = sha;
    ++seed;

    StoredObject stored;
    ASSERT_NO_THROW(stored = store->put(put)) << c.key;
    ::close(fd);

    EXPECT_EQ(stored.sha256, sha) << c.key;
    EXPECT_EQ(stored.bytes, static_cast<std::int64_t>(c.size)) << c.key;
    EXPECT_EQ(read_back_sha256(peer_, c.key), sha) << c.key;
    const auto heads =
        requests_with(peer_, "\"method\":\"HEAD\",\"url\":\"/" + bucket_ + "/" + c.key + "\"");
    ASSERT_EQ(heads.size(), 1u) << c.key << ": the object's size was not checked";
    EXPECT_TRUE(contains(heads[0], "\"status\":200")) << heads[0];
  }
  EXPECT_EQ(metric("users_export_s3_uploads_total"), 2);
  EXPECT_EQ(metric("users_export_s3_retries_total"), 0);
}

TEST_F(S3StoreIntegrationTest, AGzipFileUploadedWhileItIsWrittenReadsBackAsItsExactBytes) {
  // As the exporter streams: the gzip sink reports each block it wrote, the store sends whole
  // parts meanwhile, and the writer's size and SHA-256 finish the upload.
  auto store = make_store(config_for(peer_));  // 5 MiB parts, 2 at a time
  const std::string key = "exports/s/run.attempt-1.csv.gz";
  const auto path = dir_.path() / "streamed.csv.gz";
  GzipFileSink sink(path, 0);  // level 0 stores blocks: the file is as large as its input
  const int fd = sink.take_read_fd();
  PutRequest put = request_for(key, path, "application/gzip", {{"row-count", "1"}});
  put.fd = fd;
  auto upload = store->begin_upload(put);
  sink.on_written([&](std::int64_t bytes) { upload->written(bytes); });

  std::string chunk(64 * 1024, '\0');
  std::uint64_t state = 88172645463325252ull;
  const auto write_mib = [&](int mib) {
    for (int i = 0; i < mib * 16; ++i) {
      for (auto& c : chunk) {  // xorshift: bytes gzip cannot shrink
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        c = static_cast<char>(state);
      }
      sink.write(chunk);
    }
  };
  write_mib(12);
  bool part_sent = false;  // before the writer finished
  for (int i = 0; i < 100 && !part_sent; ++i) {
    part_sent = !requests_with(peer_, "partNumber=1&").empty();
    if (!part_sent) std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  EXPECT_TRUE(part_sent) << "no part was sent while the file was written";
  write_mib(5);
  const FileDigest digest = sink.finish();
  StoredObject stored;
  ASSERT_NO_THROW(stored = upload->finish(
                      FinishedFile{digest.bytes, digest.sha256, {{"sha256", digest.sha256}}}));
  upload.reset();
  ::close(fd);

  EXPECT_EQ(stored.sha256, digest.sha256);
  EXPECT_EQ(stored.bytes, digest.bytes);
  const auto out = dir_.path() / "read-back";
  ASSERT_EQ(CurlS3Client(peer_).get(bucket_ + "/" + key, out), 200);
  const auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string read = slurp(out);
  EXPECT_EQ(static_cast<std::int64_t>(read.size()), digest.bytes);
  EXPECT_TRUE(read == slurp(path)) << "the object is not the staged file's bytes";
  const auto part_count = (static_cast<std::uint64_t>(digest.bytes) + 5 * kMiB - 1) / (5 * kMiB);
  EXPECT_GE(part_count, 4u);
  EXPECT_EQ(requests_with(peer_, "partNumber=").size(), part_count);
  EXPECT_EQ(
      requests_with(peer_, "\"method\":\"POST\",\"url\":\"/" + bucket_ + "/" + key + "?uploadId=")
          .size(),
      1u);
}

TEST_F(S3StoreIntegrationTest, RemoveDeletesAnObjectAndAnAbsentKeyIsSuccess) {
  auto store = make_store(config_for(peer_));
  const std::string key = "exports/r/run.attempt-1.csv.gz";
  store->put(request_for(key, staged("removed", 2000, 140), "application/gzip", {}));
  CurlS3Client curl(peer_);
  ASSERT_EQ(curl.head(bucket_ + "/" + key)[":status"], "200");

  ASSERT_NO_THROW(store->remove(key));
  EXPECT_EQ(curl.head(bucket_ + "/" + key)[":status"], "404");
  EXPECT_NO_THROW(store->remove(key));  // already gone
  EXPECT_NO_THROW(store->remove("exports/r/never-uploaded.csv.gz"));
  EXPECT_EQ(requests_with(peer_, "\"method\":\"DELETE\"").size(), 3u);
  EXPECT_TRUE(clock_.sleeps().empty()) << "a delete was retried";
}

TEST_F(S3StoreIntegrationTest, StagedFileThatCannotBeOpenedIsAnIoError) {
  auto store = make_store(config_for(peer_));
  try {
    store->put(request_for("exports/none.csv.gz", dir_.path() / "missing", "application/gzip", {}));
    FAIL() << "a missing file was uploaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_TRUE(contains(e.what(), "missing")) << e.what();
  }
}

}  // namespace
}  // namespace user_export
