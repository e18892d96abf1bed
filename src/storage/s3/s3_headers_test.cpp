#include "storage/s3/s3_headers.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace user_export {
namespace {

TEST(S3ObjectHeaders, ContentTypeAndLowerCasedMetadataInNameOrder) {
  const auto headers = s3_object_headers(
      "application/gzip", {{"Schema-Version", "1"}, {"row-count", "42"}, {"sha256", "ab"}});
  // std::map orders "Schema-Version" before "row-count": upper case sorts first.
  const S3Headers expected{{"Content-Type", "application/gzip"},
                           {"x-amz-meta-schema-version", "1"},
                           {"x-amz-meta-row-count", "42"},
                           {"x-amz-meta-sha256", "ab"}};
  EXPECT_EQ(headers, expected);
}

TEST(S3ObjectHeaders, NeverProducesAnEmptyHeader) {
  const auto headers = s3_object_headers("", {{"empty", ""}, {"blank", "   "}, {"kept", "x"}});
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].first, "x-amz-meta-kept");
  for (const auto& [name, value] : headers) EXPECT_FALSE(value.empty()) << name;
}

TEST(S3ObjectHeaders, TrimsAndCollapsesSpacesAsSigV4Does) {
  const auto headers = s3_object_headers("text/csv", {{"note", "  a   b\tc  "}});
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[1].second, "a b c");
}

TEST(S3ObjectHeaders, RejectsNamesAndValuesAHeaderCannotCarry) {
  EXPECT_THROW(s3_object_headers("x", {{"bad name", "v"}}), Error);
  EXPECT_THROW(s3_object_headers("x", {{"", "v"}}), Error);
  EXPECT_THROW(s3_object_headers("x", {{"n", "line\nbreak"}}), Error);
  try {
    s3_object_headers("x", {{"city", "Zürich"}});
    ADD_FAILURE() << "non-ASCII value accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStorage);
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("'city'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace user_export
