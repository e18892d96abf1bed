// S3Store::abort_unfinished: the uploads of exactly one key are listed and aborted, against a
// recording server (the S3 test server does not list multipart uploads).
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"
#include "support/fake_clock.hpp"
#include "support/s3/s3_recording_server.hpp"

namespace user_export {
namespace {

using namespace std::chrono_literals;
using testing::RecordingS3;

const std::string kKey = "exports/d/g/2026-12-05T0200Z/run.attempt-1.csv.gz";

std::string upload_xml(const std::string& key, const std::string& id) {
  return "<Upload><Key>" + key + "</Key><UploadId>" + id +
         "</UploadId><Initiated>2026-12-05T02:00:00.000Z</Initiated></Upload>";
}

class S3StoreUnfinishedTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Store> store() {
    StoreConfig c = peer_.store_config();
    S3StoreOptions options;
    options.request_retry.max_attempts = 2;
    options.clock = &clock_;
    return std::make_unique<S3Store>(c, options, &metrics_, clock_, random_);
  }

  RecordingS3 peer_;
  testing::FakeClock clock_;
  SystemRandom random_;
  Metrics metrics_;
};

TEST_F(S3StoreUnfinishedTest, AbortsEveryUploadOfExactlyTheKey) {
  std::string asked;
  peer_.list_uploads = [&](const std::string& prefix) {
    asked = prefix;
    // The server lists by prefix: a longer key that shares it is not this key's.
    return std::pair{200, "<ListMultipartUploadsResult>" + upload_xml(kKey, "u1") +
                              upload_xml(kKey, "u2") + upload_xml(kKey + ".meta", "u3") +
                              "</ListMultipartUploadsResult>"};
  };
  EXPECT_EQ(store()->abort_unfinished(kKey), 2);
  EXPECT_EQ(asked, kKey);
  EXPECT_EQ(peer_.count("DELETE /bucket/" + kKey + "?uploadId=u1"), 1u);
  EXPECT_EQ(peer_.count("DELETE /bucket/" + kKey + "?uploadId=u2"), 1u);
  EXPECT_EQ(peer_.count("uploadId=u3"), 0u);
  EXPECT_EQ(metrics_.counter("users_export_s3_aborted_uploads_total", "").value(), 2);
}

TEST_F(S3StoreUnfinishedTest, NoUploadSendsNoAbort) {
  EXPECT_EQ(store()->abort_unfinished(kKey), 0);
  EXPECT_EQ(peer_.count("DELETE"), 0u);
  EXPECT_EQ(peer_.count("uploads"), 1u);  // one listing
}

TEST_F(S3StoreUnfinishedTest, AServerThatCannotListUploadsHasNoneToAbort) {
  peer_.list_uploads = [](const std::string&) {
    return std::pair{501, std::string("<Error><Code>NotImplemented</Code></Error>")};
  };
  EXPECT_EQ(store()->abort_unfinished(kKey), 0);
  EXPECT_EQ(peer_.count("DELETE"), 0u);
}

TEST_F(S3StoreUnfinishedTest, AListingThatFailsIsAnError) {
  peer_.list_uploads = [](const std::string&) {
    return std::pair{403, std::string("<Error><Code>AccessDenied</Code></Error>")};
  };
  EXPECT_THROW(store()->abort_unfinished(kKey), Error);
}

}  // namespace
}  // namespace user_export
