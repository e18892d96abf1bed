#include "storage/s3/s3_url.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export {
namespace {

TEST(S3Location, ParsesBucketAndPrefixWithoutSlashes) {
  auto loc = parse_s3_location("s3://exports/daily/users/");
  EXPECT_EQ(loc.bucket, "exports");
  EXPECT_EQ(loc.prefix, "daily/users");
  loc = parse_s3_location("s3://exports");
  EXPECT_EQ(loc.bucket, "exports");
  EXPECT_EQ(loc.prefix, "");
  EXPECT_EQ(parse_s3_location("s3://my.bucket-1/").prefix, "");
}

TEST(S3Location, RejectsOtherSchemesAndInvalidBuckets) {
  for (const char* bad : {"file:///tmp/x", "s3://", "s3:///prefix", "s3://ab", "s3://Upper",
                          "s3://-dash", "s3://dash-", "s3://a..b", "s3://under_score"}) {
    try {
      parse_s3_location(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig) << bad;
    }
  }
}

TEST(S3Endpoint, ParsesSchemeAuthorityAndBasePath) {
  auto e = parse_s3_endpoint("http://127.0.0.1:9000", "us-east-1");
  EXPECT_EQ(e.scheme, "http");
  EXPECT_EQ(e.authority, "127.0.0.1:9000");
  EXPECT_EQ(e.base_path, "");
  e = parse_s3_endpoint("HTTPS://minio.internal/s3/", "us-east-1");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.authority, "minio.internal");
  EXPECT_EQ(e.base_path, "/s3");
  e = parse_s3_endpoint("http://[::1]:9000", "x");
  EXPECT_EQ(e.authority, "[::1]:9000");
}

TEST(S3Endpoint, EmptyMeansAwsForTheRegion) {
  const auto e = parse_s3_endpoint("", "eu-west-3");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.authority, "s3.eu-west-3.amazonaws.com");
}

TEST(S3Endpoint, RejectsUnusableEndpoints) {
  for (const char* bad :
       {"127.0.0.1:9000", "ftp://host", "http://", "http://user@host", "http://host/?x=1"}) {
    EXPECT_THROW(parse_s3_endpoint(bad, "us-east-1"), Error) << bad;
  }
}

TEST(S3UriEncode, EncodesEverythingButUnreservedAndKeepsSlashesOnlyWhenAsked) {
  EXPECT_EQ(s3_uri_encode("a b+c/d", true), "a%20b%2Bc/d");
  EXPECT_EQ(s3_uri_encode("a b+c/d", false), "a%20b%2Bc%2Fd");
  EXPECT_EQ(s3_uri_encode("été", true), "%C3%A9t%C3%A9");
  EXPECT_EQ(s3_uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(s3_uri_encode("!*'()=&?%#", false), "%21%2A%27%28%29%3D%26%3F%25%23");
}

TEST(S3CanonicalQuery, SortsEncodesAndWritesEqualsForEmptyValues) {
  EXPECT_EQ(s3_canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(s3_canonical_query({{"uploadId", "x/y+z"}, {"partNumber", "12"}}),
            "partNumber=12&uploadId=x%2Fy%2Bz");
  EXPECT_EQ(s3_canonical_query({{"uploads", ""}, {"prefix", "daily users/"}, {"key-marker", "k"}}),
            "key-marker=k&prefix=daily%20users%2F&uploads=");
}

TEST(S3Addressing, PathStyleKeepsTheBucketInThePath) {
  const S3Addressing a(parse_s3_endpoint("http://127.0.0.1:9000", "us-east-1"), "exports", true);
  EXPECT_EQ(a.bucket_url(), "http://127.0.0.1:9000/exports");
  EXPECT_EQ(a.bucket_url({{"uploads", ""}, {"prefix", "p/"}}),
            "http://127.0.0.1:9000/exports?prefix=p%2F&uploads=");
  EXPECT_EQ(a.object_url("dir one/a+b.csv.gz", {{"uploads", ""}}),
            "http://127.0.0.1:9000/exports/dir%20one/a%2Bb.csv.gz?uploads=");
  EXPECT_EQ(a.endpoint_text(), "http://127.0.0.1:9000");
  EXPECT_EQ(a.host(), "127.0.0.1:9000");
  EXPECT_EQ(a.object_path("dir one/a+b.csv.gz"), "/exports/dir%20one/a%2Bb.csv.gz");
}

TEST(S3Addressing, VirtualHostStyleMovesTheBucketIntoTheHost) {
  const S3Addressing a(parse_s3_endpoint("https://s3.example.test/base", "us-east-1"), "exports",
                       false);
  EXPECT_EQ(a.bucket_url(), "https://exports.s3.example.test/base/");
  EXPECT_EQ(a.object_url("k/é"), "https://exports.s3.example.test/base/k/%C3%A9");
  EXPECT_EQ(a.host(), "exports.s3.example.test");
  EXPECT_EQ(a.object_path("k/é"), "/base/k/%C3%A9");
}

TEST(S3Addressing, HostIsTheHeaderLibcurlSendsWithoutTheDefaultPort) {
  const auto host = [](std::string_view endpoint, bool path_style) {
    return S3Addressing(parse_s3_endpoint(endpoint, "us-east-1"), "exports", path_style).host();
  };
  EXPECT_EQ(host("https://minio.test:443", true), "minio.test");
  EXPECT_EQ(host("http://minio.test:80", true), "minio.test");
  EXPECT_EQ(host("https://minio.test:80", true), "minio.test:80");
  EXPECT_EQ(host("http://minio.test:8080", true), "minio.test:8080");
  EXPECT_EQ(host("http://[::1]:9000", true), "[::1]:9000");
  EXPECT_EQ(host("", false), "exports.s3.us-east-1.amazonaws.com");
}

TEST(S3ObjectUri, IsBucketAndRawKey) {
  EXPECT_EQ(s3_object_uri("b", "p/x y.csv.gz"), "s3://b/p/x y.csv.gz");
}

}  // namespace
}  // namespace user_export
