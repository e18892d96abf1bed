#include "storage/s3/s3_errors.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <string>

namespace user_export {
namespace {

S3RequestContext ctx() {
  return S3RequestContext{"upload",      "exports",   "p/k.csv.gz",
                          "AKIDEXAMPLE", "eu-west-1", "http://127.0.0.1:9000"};
}

std::string error_xml(const std::string& code, const std::string& message = "m") {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
         "</Message></Error>";
}

bool contains(const Error& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

TEST(S3HttpError, WrongSecretIsNotRetriedAndNamesTheSecretVariableAndKeyId) {
  const Error e = s3_http_error(ctx(), 403, error_xml("SignatureDoesNotMatch"));
  EXPECT_EQ(e.code(), ErrorCode::kStorage);
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "AWS_SECRET_ACCESS_KEY")) << e.what();
  EXPECT_TRUE(contains(e, "'AKIDEXAMPLE'")) << e.what();
  EXPECT_TRUE(contains(e, "exports")) << e.what();
  EXPECT_TRUE(contains(e, "http://127.0.0.1:9000")) << e.what();
}

TEST(S3HttpError, UnknownAccessKeyNamesTheAccessKeyVariable) {
  const Error e = s3_http_error(ctx(), 403, error_xml("InvalidAccessKeyId"));
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "AWS_ACCESS_KEY_ID")) << e.what();
  EXPECT_TRUE(contains(e, "AKIDEXAMPLE")) << e.what();
}

TEST(S3HttpError, AccessDeniedAndBodylessForbiddenSayWhichKeyAndBucket) {
  for (const Error& e : {s3_http_error(ctx(), 403, error_xml("AccessDenied")),
                         s3_http_error(ctx(), 403, ""), s3_http_error(ctx(), 401, "")}) {
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e, "AKIDEXAMPLE")) << e.what();
    EXPECT_TRUE(contains(e, "bucket 'exports'")) << e.what();
  }
}

TEST(S3HttpError, HeaderErrorCodeIsUsedWhenThereIsNoBody) {
  const Error e = s3_http_error(ctx(), 403, "", "SignatureDoesNotMatch");
  EXPECT_TRUE(contains(e, "AWS_SECRET_ACCESS_KEY")) << e.what();
}

TEST(S3HttpError, MissingBucketFailsFastNamingTheBucket) {
  const Error e = s3_http_error(ctx(), 404, error_xml("NoSuchBucket"));
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "bucket 'exports' does not exist")) << e.what();
  EXPECT_TRUE(contains(e, "USER_EXPORT_STORE_URL")) << e.what();
}

TEST(S3HttpError, WrongRegionSaysWhichRegionToSet) {
  const Error e =
      s3_http_error(ctx(), 400,
                    "<Error><Code>AuthorizationHeaderMalformed</Code><Message>m</Message>"
                    "<Region>us-west-2</Region></Error>");
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "'us-west-2'")) << e.what();
  EXPECT_TRUE(contains(e, "USER_EXPORT_S3_REGION")) << e.what();
  EXPECT_TRUE(
      contains(s3_http_error(ctx(), 301, error_xml("PermanentRedirect")), "USER_EXPORT_S3_REGION"));
}

TEST(S3HttpError, BucketRegionHeaderNamesTheRegionToSet) {
  // AWS answers a HEAD in the wrong region with 301 or 400, no body, and the bucket's region.
  for (const long status : {301L, 400L, 403L}) {
    const Error e = s3_http_error(ctx(), status, "", "", "ap-south-1");
    EXPECT_FALSE(e.retriable());
    EXPECT_TRUE(contains(e, "region 'ap-south-1', not 'eu-west-1'")) << e.what();
    EXPECT_TRUE(contains(e, "USER_EXPORT_S3_REGION=ap-south-1")) << e.what();
  }
  // The same region is no hint: the real cause is reported.
  EXPECT_TRUE(
      contains(s3_http_error(ctx(), 403, error_xml("SignatureDoesNotMatch"), "", "eu-west-1"),
               "AWS_SECRET_ACCESS_KEY"));
}

TEST(S3HttpError, ClockSkewAndExpiredCredentialsAreNotRetried) {
  EXPECT_TRUE(contains(s3_http_error(ctx(), 403, error_xml("RequestTimeTooSkewed")), "clock"));
  EXPECT_FALSE(s3_http_error(ctx(), 403, error_xml("RequestTimeTooSkewed")).retriable());
  EXPECT_FALSE(s3_http_error(ctx(), 400, error_xml("ExpiredToken")).retriable());
}

TEST(S3HttpError, ServerErrorsThrottlingAndTimeoutsAreRetried) {
  EXPECT_TRUE(s3_http_error(ctx(), 500, error_xml("InternalError")).retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 502, "").retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 503, error_xml("SlowDown")).retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 429, "").retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 408, "").retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 400, error_xml("RequestTimeout")).retriable());
  EXPECT_TRUE(s3_http_error(ctx(), 409, error_xml("OperationAborted")).retriable());
  // S3 can answer a completion with 200 and an error document.
  EXPECT_TRUE(s3_http_error(ctx(), 200, error_xml("InternalError")).retriable());
}

TEST(S3HttpError, ChecksumMismatchSaysTheBytesDidNotMatchAndIsRetriable) {
  for (const char* code :
       {"BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch"}) {
    EXPECT_TRUE(s3_checksum_mismatch(code)) << code;
    const Error e = s3_http_error(ctx(), 400, error_xml(code, "The checksum did not match"));
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable()) << code;
    EXPECT_TRUE(contains(e, "did not match their checksum")) << e.what();
    EXPECT_TRUE(contains(e, std::string("HTTP 400 ") + code)) << e.what();
    EXPECT_TRUE(contains(e, "'p/k.csv.gz'")) << e.what();
  }
  // A header code serves when the answer has no body.
  EXPECT_TRUE(contains(s3_http_error(ctx(), 400, "", "BadDigest"), "did not match their checksum"));
  // A malformed Content-MD5 is the client's fault, not a damaged body.
  EXPECT_FALSE(s3_checksum_mismatch("InvalidDigest"));
  EXPECT_FALSE(s3_http_error(ctx(), 400, error_xml("InvalidDigest")).retriable());
}

TEST(S3HttpError, RejectedRequestsAndUnimplementedOperationsAreNotRetried) {
  EXPECT_FALSE(s3_http_error(ctx(), 400, error_xml("EntityTooSmall")).retriable());
  EXPECT_FALSE(s3_http_error(ctx(), 400, error_xml("InvalidPart")).retriable());
  EXPECT_FALSE(s3_http_error(ctx(), 405, error_xml("MethodNotAllowed")).retriable());
  const Error e = s3_http_error(ctx(), 501, error_xml("NotImplemented"));
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "does not implement")) << e.what();
  EXPECT_FALSE(s3_http_error(ctx(), 404, error_xml("NoSuchUpload")).retriable());
}

TEST(S3HttpError, MessageQuotesTheServersCodeAndMessage) {
  const Error e = s3_http_error(ctx(), 503, error_xml("SlowDown", "Please reduce your rate"));
  EXPECT_TRUE(contains(e, "HTTP 503 SlowDown (Please reduce your rate)")) << e.what();
}

TEST(S3TransportError, ConnectionFailuresAndTimeoutsAreRetried) {
  for (const CURLcode code :
       {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
        CURLE_GOT_NOTHING, CURLE_COULDNT_RESOLVE_HOST, CURLE_PARTIAL_FILE}) {
    EXPECT_TRUE(s3_transport_retriable(code)) << curl_easy_strerror(code);
    const Error e = s3_transport_error(ctx(), code, "detail");
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_TRUE(e.retriable());
    EXPECT_TRUE(contains(e, "detail")) << e.what();
  }
}

TEST(S3TransportError, TlsVerificationFailureSaysToSetTheCaBundle) {
  const Error e = s3_transport_error(ctx(), CURLE_PEER_FAILED_VERIFICATION, "");
  EXPECT_FALSE(e.retriable());
  EXPECT_TRUE(contains(e, "CA bundle")) << e.what();
  EXPECT_FALSE(s3_transport_error(ctx(), CURLE_URL_MALFORMAT, "").retriable());
  EXPECT_FALSE(s3_transport_retriable(CURLE_ABORTED_BY_CALLBACK));
}

}  // namespace
}  // namespace user_export
