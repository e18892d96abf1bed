#include "storage/local/local_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

/// Every file whose name starts with '.' under `dir` (leftover temporary files).
std::vector<fs::path> hidden_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) out.push_back(e.path());
  }
  return out;
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(base_ / "staging");
    root_ = base_ / "store" / "nested";
  }

  fs::path stage(const std::string& name, const std::string& content) {
    auto p = base_ / "staging" / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  testing::TempDir base_{"ue-local-store"};
  fs::path root_;
};

TEST_F(LocalStoreTest, PutCopiesTheBytesAndWritesTheMetadataSidecar) {
  LocalStore store(root_);
  store.ensure_ready();
  const std::string content = random_bytes((3 << 20) + 17, 1);  // several copy buffers
  PutRequest req;
  req.key = "exports/d/g/2025-11-25T1529Z/run.csv.gz";
  req.file = stage("run.csv.gz", content);
  req.metadata = {{"schema-version", "1.0"}, {"row-count", "12"}, {"sha256", "ab"}};

  StoredObject got = store.put(req);

  const fs::path dest = root_ / req.key;
  EXPECT_EQ(read_all(dest), content);
  EXPECT_EQ(got.bytes, static_cast<std::int64_t>(content.size()));
  EXPECT_EQ(got.key, req.key);
  EXPECT_EQ(got.bucket, "");
  EXPECT_EQ(got.url, "file://" + dest.string());
  EXPECT_EQ(store.key_prefix(), "");
  EXPECT_EQ(store.download_url(req.key), std::nullopt);  // no presigned URLs for files

  auto meta = nlohmann::json::parse(read_all(fs::path(dest.string() + ".meta.json")));
  EXPECT_EQ(meta["contentType"], "application/gzip");
  EXPECT_EQ(meta["metadata"]["row-count"], "12");
  EXPECT_EQ(meta["metadata"]["schema-version"], "1.0");
  EXPECT_EQ(meta["metadata"].size(), 3u);

  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_TRUE(hidden_files(root_).empty());
  EXPECT_TRUE(fs::exists(req.file));  // the caller deletes the staged file, not the store
}

TEST_F(LocalStoreTest, ReadStreamsTheObjectInBoundedChunksAndRefusesAnAbsentOne) {
  LocalStore store(root_);
  store.ensure_ready();
  const std::string content = random_bytes((3 << 20) + 5, 7);
  PutRequest req;
  req.key = "exports/run.csv.gz";
  req.file = stage("run.csv.gz", content);
  store.put(req);

  std::string got;
  std::size_t chunks = 0;
  std::size_t largest = 0;
  store.read(req.key, [&](std::string_view chunk) {
    got.append(chunk);
    ++chunks;
    largest = std::max(largest, chunk.size());
  });
  EXPECT_EQ(got, content);
  EXPECT_GE(chunks, 4u);
  EXPECT_LE(largest, std::size_t{1} << 20);

  try {
    store.read("exports/absent.csv.gz", [](std::string_view) {});
    FAIL() << "an absent object was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("is not in the store"), std::string::npos) << e.what();
  }
}

TEST_F(LocalStoreTest, PutThroughADescriptorIsConfirmedOrRemovedWhenTheBytesDiffer) {
  LocalStore store(root_);
  store.ensure_ready();
  const std::string content = random_bytes(100'000, 2);
  PutRequest req;
  req.key = "exports/d/g/2025-11-25T1529Z/run.attempt-1.csv.gz";
  req.file = stage("run.csv.gz", content);
  const int fd = ::open(req.file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  req.fd = fd;
  fs::remove(req.file);  // the upload reads the descriptor, not the path
  const FdDigest digest = sha256_of_fd(fd, "staged file");
  req.bytes = digest.bytes;
  req.sha256 = digest.sha256;
  StoredObject got = store.put(req);
  EXPECT_EQ(got.sha256, digest.sha256);
  EXPECT_EQ(read_all(root_ / req.key), content);

  // The writer's digest says other bytes: nothing is left under the key.
  req.key = "exports/d/g/2025-11-25T1529Z/run.attempt-2.csv.gz";
  req.sha256 = std::string(64, '0');
  try {
    store.put(req);
    ADD_FAILURE() << "a put whose bytes differ from the digest was confirmed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable());
  }
  EXPECT_FALSE(fs::exists(root_ / req.key));
  EXPECT_FALSE(fs::exists(store.metadata_path_for(req.key)));
  ::close(fd);
}

TEST_F(LocalStoreTest, PutReplacesAnExistingObjectAndItsMetadata) {
  LocalStore store(root_);
  PutRequest req;
  req.key = "k.csv.gz";
  req.file = stage("a", "first version, longer than the second");
  req.metadata = {{"row-count", "1"}};
  store.put(req);
  req.file = stage("b", "second");
  req.metadata = {{"row-count", "2"}};
  req.content_type = "text/csv";
  auto got = store.put(req);
  EXPECT_EQ(read_all(root_ / "k.csv.gz"), "second");
  EXPECT_EQ(got.bytes, 6);
  auto meta = nlohmann::json::parse(read_all(root_ / "k.csv.gz.meta.json"));
  EXPECT_EQ(meta["metadata"]["row-count"], "2");
  EXPECT_EQ(meta["contentType"], "text/csv");
}

TEST_F(LocalStoreTest, AbortUnfinishedRemovesTheKeysTemporaryFilesOnly) {
  LocalStore store(root_);
  store.ensure_ready();
  const fs::path dir = root_ / "g" / "slot";
  fs::create_directories(dir);
  auto touch = [&](const std::string& name) { std::ofstream(dir / name) << "partial"; };
  touch("r.attempt-1.csv.gz");                        // a whole object: stays
  touch(".r.attempt-1.csv.gz.tmp-a1B2c3");            // left by a writer that died: removed
  touch(".r.attempt-1.csv.gz.meta.json.tmp-Zz9900");  // its sidecar's: removed
  touch(".r.attempt-1.csv.gz.x.tmp-a1B2c3");          // another key's: stays
  touch(".r.attempt-2.csv.gz.tmp-a1B2c3");            // another attempt's: stays

  EXPECT_EQ(store.abort_unfinished("g/slot/r.attempt-1.csv.gz"), 2);
  EXPECT_TRUE(fs::exists(dir / "r.attempt-1.csv.gz"));
  EXPECT_FALSE(fs::exists(dir / ".r.attempt-1.csv.gz.tmp-a1B2c3"));
  EXPECT_FALSE(fs::exists(dir / ".r.attempt-1.csv.gz.meta.json.tmp-Zz9900"));
  EXPECT_TRUE(fs::exists(dir / ".r.attempt-1.csv.gz.x.tmp-a1B2c3"));
  EXPECT_TRUE(fs::exists(dir / ".r.attempt-2.csv.gz.tmp-a1B2c3"));
  EXPECT_EQ(store.abort_unfinished("g/none/r.attempt-1.csv.gz"), 0);  // no such directory
}

TEST_F(LocalStoreTest, RejectsUnsafeKeysWithoutWritingAnything) {
  LocalStore store(root_);
  store.ensure_ready();
  PutRequest req;
  req.file = stage("x", "data");
  const std::vector<std::string> keys = {
      "../escape.csv.gz",    "a/../../escape.csv.gz", "/etc/escape", "", "dir/",
      std::string("a\0b", 3)};
  for (const auto& key : keys) {
    req.key = key;
    try {
      store.put(req);
      ADD_FAILURE() << "accepted key '" << key << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kStorage);
      EXPECT_FALSE(e.retriable());
      EXPECT_NE(std::string(e.what()).find("object key"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(root_.parent_path() / "escape.csv.gz"));
  EXPECT_FALSE(fs::exists(base_ / "escape.csv.gz"));
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(LocalStoreTest, MissingStagedFileIsANonRetriableErrorNamingIt) {
  LocalStore store(root_);
  PutRequest req;
  req.key = "k.csv.gz";
  req.file = base_ / "staging" / "gone.csv.gz";
  try {
    store.put(req);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find(req.file.string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(root_ / "k.csv.gz.meta.json"));
}

TEST_F(LocalStoreTest, FailedRenameLeavesNoTemporaryFile) {
  LocalStore store(root_);
  fs::create_directories(root_ / "occupied" / "child");  // a directory where the object goes
  PutRequest req;
  req.key = "occupied";
  req.file = stage("x", "data");
  try {
    store.put(req);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_NE(std::string(e.what()).find((root_ / "occupied").string()), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(hidden_files(root_).empty());
  EXPECT_TRUE(fs::is_directory(root_ / "occupied"));
}

TEST_F(LocalStoreTest, EnsureReadyCreatesTheRootAndIsIdempotent) {
  LocalStore store(root_);
  EXPECT_FALSE(fs::exists(root_));
  store.ensure_ready();
  EXPECT_TRUE(fs::is_directory(root_));
  store.ensure_ready();
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(LocalStoreTest, EnsureReadyUnderARegularFileFailsNamingThePath) {
  std::ofstream(base_ / "plain-file") << "x";
  LocalStore store(base_ / "plain-file" / "store");
  try {
    store.ensure_ready();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_NE(std::string(e.what()).find((base_ / "plain-file").string()), std::string::npos)
        << e.what();
  }
}

TEST_F(LocalStoreTest, ConcurrentPutsOfOneKeyLeaveOneWholeObject) {
  LocalStore store(root_);
  constexpr int kThreads = 4;
  constexpr int kPuts = 8;
  std::vector<std::string> contents;
  std::vector<fs::path> files;
  for (int t = 0; t < kThreads; ++t) {
    contents.push_back(random_bytes(256 << 10, 100 + t));
    files.push_back(stage("c" + std::to_string(t), contents.back()));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) {
        PutRequest req;
        req.key = "same/key.csv.gz";
        req.file = files[t];
        store.put(req);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string final_bytes = read_all(root_ / "same" / "key.csv.gz");
  EXPECT_NE(std::find(contents.begin(), contents.end(), final_bytes), contents.end());
  EXPECT_TRUE(hidden_files(root_).empty());
}

TEST(LocalStore, RelativeRootIsAConfigError) {
  try {
    LocalStore store("relative/dir");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
  }
}

TEST(LocalStore, RootFromUrl) {
  EXPECT_EQ(LocalStore::root_from_url("file:///var/lib/exports"), fs::path("/var/lib/exports"));
  EXPECT_THROW(LocalStore::root_from_url("file://host/dir"), Error);
  EXPECT_THROW(LocalStore::root_from_url("file://"), Error);
  EXPECT_THROW(LocalStore::root_from_url("s3://bucket"), Error);
}

}  // namespace
}  // namespace user_export
