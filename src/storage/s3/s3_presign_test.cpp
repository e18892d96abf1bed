#include "storage/s3/s3_presign.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "storage/s3/s3_store.hpp"
#include "support/fake_clock.hpp"

namespace user_export {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kAccessKey = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2013-05-24T00:00:00Z, the time of AWS's documented example.
const SystemTime kExampleTime{std::chrono::seconds{1'369'353'600}};

S3Presigner presigner(std::string_view endpoint, bool path_style, const Clock& clock,
                      std::chrono::seconds expires = std::chrono::seconds{86400},
                      std::string session_token = "") {
  return S3Presigner(
      S3Addressing(parse_s3_endpoint(endpoint, "us-east-1"), "examplebucket", path_style),
      S3SigningCredentials{kAccessKey, kSecretKey, std::move(session_token)}, "us-east-1", expires,
      clock);
}

// AWS's example of query-string authentication (Signature Version 4, "Authenticating Requests:
// Using Query Parameters"): the same request, signature and intermediate texts.
TEST(S3Presign, MatchesAwsDocumentedExample) {
  testing::FakeClock clock(kExampleTime);
  const auto signed_get =
      presigner("https://s3.amazonaws.com", /*path_style=*/false, clock).presign_get("test.txt");
  EXPECT_EQ(signed_get.canonical_request,
            "GET\n"
            "/test.txt\n"
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
            "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
            "X-Amz-SignedHeaders=host\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "\n"
            "host\n"
            "UNSIGNED-PAYLOAD");
  EXPECT_EQ(signed_get.string_to_sign,
            "AWS4-HMAC-SHA256\n"
            "20130524T000000Z\n"
            "20130524/us-east-1/s3/aws4_request\n"
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  EXPECT_EQ(signed_get.signature,
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(signed_get.url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
            "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
            "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_THAT(signed_get.url, Not(HasSubstr(kSecretKey)));
  EXPECT_THAT(signed_get.url, Not(HasSubstr("wJalrXUtnFEMI")));
}

// The store's default addressing: the bucket is the first path segment and the host is the
// endpoint's. Expected signatures computed independently of this code (a separate SigV4
// implementation that reproduces the documented example above).
TEST(S3Presign, PathStyleSignsBucketInThePathAndTheEndpointAsHost) {
  testing::FakeClock clock(kExampleTime);
  const auto signed_get =
      presigner("https://s3.amazonaws.com", /*path_style=*/true, clock).presign_get("test.txt");
  EXPECT_THAT(signed_get.canonical_request,
              StartsWith("GET\n/examplebucket/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&"));
  EXPECT_THAT(signed_get.canonical_request,
              HasSubstr("\nhost:s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"));
  EXPECT_EQ(signed_get.signature,
            "733255ef022bec3f2a8701cd61d4b371f3f28c9f193a1f02279211d48d5193d7");
  EXPECT_THAT(signed_get.url,
              StartsWith("https://s3.amazonaws.com/examplebucket/test.txt?X-Amz-Algorithm="));
  EXPECT_THAT(signed_get.url, HasSubstr("&X-Amz-Signature=" + signed_get.signature));
}

TEST(S3Presign, KeysAreEncodedPerSegmentAndANonDefaultPortIsInTheHost) {
  testing::FakeClock clock(kExampleTime);
  const auto signed_get =
      presigner("http://127.0.0.1:9000", true, clock, std::chrono::seconds{3600})
          .presign_get("exports/a b+c/\xC3\xA9\xE2\x82\xAC (1).csv.gz");  // é € in UTF-8
  const std::string path = "/examplebucket/exports/a%20b%2Bc/%C3%A9%E2%82%AC%20%281%29.csv.gz";
  EXPECT_THAT(signed_get.canonical_request, StartsWith("GET\n" + path + "\n"));
  EXPECT_THAT(signed_get.canonical_request, HasSubstr("&X-Amz-Expires=3600&"));
  EXPECT_THAT(signed_get.canonical_request, HasSubstr("\nhost:127.0.0.1:9000\n"));
  EXPECT_EQ(signed_get.signature,
            "f4f8d40c41074e40fc1df89321dfc2f72f9771f0802961dcb7807eb6f31f168d");
  EXPECT_THAT(signed_get.url, StartsWith("http://127.0.0.1:9000" + path + "?X-Amz-Algorithm="));
}

TEST(S3Presign, TheSchemesDefaultPortIsLeftOutOfTheSignedHost) {
  // libcurl (and browsers) send `Host: minio.internal` for https://minio.internal:443/…; the
  // signature must cover the header the server receives.
  testing::FakeClock clock(kExampleTime);
  EXPECT_THAT(
      presigner("https://minio.internal:443", true, clock).presign_get("k").canonical_request,
      HasSubstr("\nhost:minio.internal\n"));
  EXPECT_THAT(presigner("http://minio.internal:80", true, clock).presign_get("k").canonical_request,
              HasSubstr("\nhost:minio.internal\n"));
  EXPECT_THAT(
      presigner("http://minio.internal:8080", false, clock).presign_get("k").canonical_request,
      HasSubstr("\nhost:examplebucket.minio.internal:8080\n"));
}

TEST(S3Presign, AnEndpointBasePathIsPartOfTheSignedPath) {
  testing::FakeClock clock(kExampleTime);
  const auto signed_get = presigner("http://gw.internal:9000/s3", true, clock).presign_get("a/b");
  EXPECT_THAT(signed_get.canonical_request, StartsWith("GET\n/s3/examplebucket/a/b\n"));
  EXPECT_THAT(signed_get.url, StartsWith("http://gw.internal:9000/s3/examplebucket/a/b?"));
}

TEST(S3Presign, ASessionTokenIsSentAndSigned) {
  testing::FakeClock clock(kExampleTime);
  const std::string token = "FQoGZXIvYXdzE/tok+en==";
  const auto signed_get =
      presigner("http://127.0.0.1:9000", true, clock, std::chrono::seconds{3600}, token)
          .presign_get("test.txt");
  const std::string encoded = "X-Amz-Security-Token=FQoGZXIvYXdzE%2Ftok%2Ben%3D%3D";
  // Signed: in the canonical query, sorted between X-Amz-Expires and X-Amz-SignedHeaders.
  EXPECT_THAT(signed_get.canonical_request,
              HasSubstr("&X-Amz-Expires=3600&" + encoded + "&X-Amz-SignedHeaders=host\n"));
  EXPECT_THAT(signed_get.url, HasSubstr(encoded + "&"));
  EXPECT_EQ(signed_get.signature,
            "d3250505e50195bd6da34498897df2c689bde1633886e298c730bfe7a83513b7");
  // Without a token there is no such parameter.
  EXPECT_THAT(presigner("http://127.0.0.1:9000", true, clock).presign_get("test.txt").url,
              Not(HasSubstr("X-Amz-Security-Token")));
}

TEST(S3Presign, SignsAtTheClocksTime) {
  testing::FakeClock clock(kExampleTime);
  const S3Presigner signer = presigner("https://s3.amazonaws.com", false, clock);
  const auto first = signer.presign_get("test.txt");
  clock.advance(std::chrono::hours{25} + std::chrono::seconds{7});
  const auto later = signer.presign_get("test.txt");
  EXPECT_THAT(later.url, HasSubstr("X-Amz-Date=20130525T010007Z"));
  EXPECT_THAT(later.url, HasSubstr("%2F20130525%2Fus-east-1%2F"));
  EXPECT_NE(later.signature, first.signature);
  EXPECT_EQ(signer.presign_get("test.txt", kExampleTime).url, first.url);
}

TEST(S3Presign, ExpiryMustBeWithinSigV4sSevenDays) {
  testing::FakeClock clock(kExampleTime);
  for (const auto bad : {std::chrono::seconds{0}, std::chrono::seconds{-1},
                         kS3MaxPresignExpiry + std::chrono::seconds{1}}) {
    try {
      presigner("https://s3.amazonaws.com", true, clock, bad);
      ADD_FAILURE() << bad.count() << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_THAT(e.what(), HasSubstr("1 to 604800 seconds"));
    }
  }
  EXPECT_THAT(
      presigner("https://s3.amazonaws.com", true, clock, kS3MaxPresignExpiry).presign_get("k").url,
      HasSubstr("X-Amz-Expires=604800&"));
}

TEST(S3Presign, NeedsCredentials) {
  testing::FakeClock clock(kExampleTime);
  const S3Addressing addressing(parse_s3_endpoint("", "us-east-1"), "examplebucket", true);
  EXPECT_THROW(S3Presigner(addressing, S3SigningCredentials{kAccessKey, "", ""}, "us-east-1",
                           std::chrono::seconds{60}, clock),
               Error);
  EXPECT_THROW(S3Presigner(addressing, S3SigningCredentials{"", kSecretKey, ""}, "us-east-1",
                           std::chrono::seconds{60}, clock),
               Error);
}

StoreConfig store_config(std::chrono::seconds presign) {
  StoreConfig c;
  c.url = "s3://examplebucket/exports";
  c.s3_endpoint = "http://127.0.0.1:9000";
  c.access_key = kAccessKey;
  c.secret_key = kSecretKey;
  c.presign = presign;
  return c;
}

TEST(S3StoreDownloadUrl, IsTheStoresObjectUrlPresignedAtItsClock) {
  testing::FakeClock clock(kExampleTime);
  testing::FakeRandom random;
  S3StoreOptions options;
  options.clock = &clock;
  const S3Store store(store_config(std::chrono::seconds{3600}), options, nullptr, clock, random);
  const std::string key = "exports/a b+c/\xC3\xA9\xE2\x82\xAC (1).csv.gz";
  const auto url = store.download_url(key);
  ASSERT_TRUE(url.has_value());
  // The same request as the signer's test above: the store signs where it uploads.
  EXPECT_EQ(*url, presigner("http://127.0.0.1:9000", true, clock, std::chrono::seconds{3600})
                      .presign_get(key)
                      .url);
  EXPECT_THAT(*url, HasSubstr("X-Amz-Signature="
                              "f4f8d40c41074e40fc1df89321dfc2f72f9771f0802961dcb7807eb6f31f168d"));
  EXPECT_THAT(*url, Not(HasSubstr(kSecretKey)));
  clock.advance(std::chrono::seconds{1});
  EXPECT_THAT(*store.download_url(key), HasSubstr("X-Amz-Date=20130524T000001Z"));
}

TEST(S3StoreDownloadUrl, IsAbsentWhenPresignIsOff) {
  testing::FakeClock clock(kExampleTime);
  testing::FakeRandom random;
  const S3Store store(store_config(std::chrono::seconds{0}), S3StoreOptions{}, nullptr, clock,
                      random);
  EXPECT_EQ(store.download_url("exports/x.csv.gz"), std::nullopt);
}

TEST(S3StoreDownloadUrl, AnExpiryBeyondSevenDaysIsAConfigError) {
  testing::FakeClock clock(kExampleTime);
  testing::FakeRandom random;
  try {
    S3Store store(store_config(std::chrono::seconds{604801}), S3StoreOptions{}, nullptr, clock,
                  random);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_THAT(e.what(), HasSubstr("store.s3.presign_seconds"));
  }
}

TEST(Sigv4Timestamp, IsBasicIso8601InUtcWholeSeconds) {
  EXPECT_EQ(sigv4_timestamp(kExampleTime + std::chrono::milliseconds{999}), "20130524T000000Z");
  EXPECT_EQ(sigv4_timestamp(SystemTime{std::chrono::seconds{1'767'225'600}}), "20260101T000000Z");
}

}  // namespace
}  // namespace user_export
