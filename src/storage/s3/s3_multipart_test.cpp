#include "storage/s3/s3_multipart.hpp"

#include <gtest/gtest.h>

#include "common/time_format.hpp"

namespace user_export {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

TEST(S3PartPlan, SplitsIntoFullPartsAndAShorterLastOne) {
  const auto parts = plan_s3_parts(3 * 5 * kMiB + 123, 5 * kMiB);
  ASSERT_EQ(parts.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parts[i].number, i + 1);
    EXPECT_EQ(parts[i].offset, static_cast<std::uint64_t>(i) * 5 * kMiB);
    EXPECT_EQ(parts[i].length, 5 * kMiB);
  }
  EXPECT_EQ(parts[3].length, 123u);
  EXPECT_EQ(parts[3].offset, 15 * kMiB);
}

TEST(S3PartPlan, ExactMultipleHasNoEmptyTail) {
  const auto parts = plan_s3_parts(16 * kMiB, 8 * kMiB);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].length, 8 * kMiB);
}

TEST(S3PartPlan, RaisesTooSmallPartSizeToFiveMiB) {
  const auto parts = plan_s3_parts(11 * kMiB, 1 * kMiB);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].length, 5 * kMiB);
}

TEST(S3PartPlan, GrowsPartsToStayWithinTenThousand) {
  const std::uint64_t size = 100'000 * kMiB;  // ~98 GiB at 5 MiB would need 20,000 parts
  const auto parts = plan_s3_parts(size, 5 * kMiB);
  EXPECT_LE(parts.size(), static_cast<std::size_t>(kS3MaxParts));
  EXPECT_EQ(parts.front().length % kMiB, 0u);
  std::uint64_t total = 0;
  for (const auto& p : parts) total += p.length;
  EXPECT_EQ(total, size);
}

TEST(S3PartPlan, EmptyFileIsOneEmptyPart) {
  const auto parts = plan_s3_parts(0, 5 * kMiB);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].length, 0u);
}

TEST(S3CompleteBody, ListsPartsInAscendingOrderWithEscapedEtags) {
  const auto xml = s3_complete_body({"\"aa\"", "\"bb\""});
  EXPECT_EQ(xml,
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;bb&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

const char* kListing =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
    "<NextKeyMarker>p/z</NextKeyMarker><NextUploadIdMarker>u3</NextUploadIdMarker>"
    "<MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>"
    "<Upload><Key>p/a &amp; b</Key><UploadId>u1</UploadId>"
    "<Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload>"
    "<Upload><Key>p/y</Key><UploadId>u2</UploadId>"
    "<Initiated>2026-01-01T23:30:00.000Z</Initiated></Upload>"
    "<Upload><Key>p/z</Key><UploadId>u3</UploadId><Initiated>garbage</Initiated></Upload>"
    "</ListMultipartUploadsResult>";

TEST(S3UploadListing, ParsesUploadsAndPagination) {
  const auto listing = parse_s3_upload_listing(kListing);
  ASSERT_EQ(listing.uploads.size(), 3u);
  EXPECT_EQ(listing.uploads[0].key, "p/a & b");
  EXPECT_EQ(listing.uploads[0].upload_id, "u1");
  EXPECT_EQ(listing.uploads[0].initiated, parse_iso8601("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(listing.uploads[2].initiated.has_value());
  EXPECT_TRUE(listing.truncated);
  EXPECT_EQ(listing.next_key_marker, "p/z");
  EXPECT_EQ(listing.next_upload_id_marker, "u3");
}

TEST(S3UploadListing, OnlyUploadsOlderThanTheAgeAreStale) {
  const auto listing = parse_s3_upload_listing(kListing);
  const auto now = *parse_iso8601("2026-01-02T00:00:00Z");
  const auto stale = stale_s3_uploads(listing.uploads, now, std::chrono::hours{12});
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].upload_id, "u1");
  EXPECT_TRUE(stale_s3_uploads(listing.uploads, now, std::chrono::hours{48}).empty());
}

}  // namespace
}  // namespace user_export
