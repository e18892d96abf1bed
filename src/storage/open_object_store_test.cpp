#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/error.hpp"
#include "config/config.hpp"
#include "storage/object_store.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

ErrorCode code_of(const std::string& url) {
  StoreConfig config;
  config.url = url;
  try {
    open_object_store(config);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // no error at all
}

TEST(OpenObjectStore, FileUrlOpensAWorkingLocalStore) {
  const testing::TempDir base("ue-open-store");
  std::ofstream(base / "staged") << "payload";
  StoreConfig config;
  config.url = "file://" + (base / "root").string();
  auto store = open_object_store(config);
  store->ensure_ready();
  PutRequest req;
  req.key = "a/b.csv.gz";
  req.file = base / "staged";
  auto stored = store->put(req);
  std::ifstream in(base / "root" / "a" / "b.csv.gz");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "payload");
  EXPECT_EQ(stored.url, "file://" + (base / "root" / "a" / "b.csv.gz").string());
}

TEST(OpenObjectStore, S3UrlOpensAnS3StoreWithThePrefix) {
  StoreConfig config;
  config.url = "s3://exports/nightly/users";
  config.s3_endpoint = "http://127.0.0.1:9";
  config.access_key = "AKIDEXAMPLE";
  config.secret_key = "secret";
  auto store = open_object_store(config);
  EXPECT_EQ(store->key_prefix(), "nightly/users");
}

TEST(OpenObjectStore, OtherUrlsAreConfigErrors) {
  EXPECT_EQ(code_of("s3://Not_A_Bucket/x"), ErrorCode::kConfig);
  EXPECT_EQ(code_of("http://example.invalid/x"), ErrorCode::kConfig);
  EXPECT_EQ(code_of("file://relative/dir"), ErrorCode::kConfig);
  EXPECT_EQ(code_of(""), ErrorCode::kConfig);
  EXPECT_EQ(code_of("/abs/without/scheme"), ErrorCode::kConfig);
}

}  // namespace
}  // namespace user_export
