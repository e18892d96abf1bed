#include "storage/s3/s3_xml.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(S3Xml, ExtractsTheFirstElementTextWithEntitiesDecoded) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#x27; &#233;</Message></Error>";
  EXPECT_EQ(xml_text(xml, "Code"), "SignatureDoesNotMatch");
  EXPECT_EQ(xml_text(xml, "Message"), "a & b <c> \"d\" 'e' \xC3\xA9");
  EXPECT_EQ(xml_text(xml, "Missing"), std::nullopt);
}

TEST(S3Xml, DoesNotConfuseTagsThatShareAPrefix) {
  const std::string xml = "<UploadIdMarker>m</UploadIdMarker><UploadId>id-1</UploadId>";
  EXPECT_EQ(xml_text(xml, "UploadId"), "id-1");
}

TEST(S3Xml, HandlesAttributesAndSelfClosingElements) {
  const std::string xml =
      "<Result xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Prefix/><UploadId>u</UploadId>"
      "</Result>";
  EXPECT_EQ(xml_text(xml, "Result")->find("<UploadId>u</UploadId>") != std::string::npos, true);
  EXPECT_EQ(xml_text(xml, "Prefix"), "");
}

TEST(S3Xml, ListsRepeatedBlocksInOrder) {
  const std::string xml = "<L><Upload><Key>a</Key></Upload><Upload><Key>b</Key></Upload></L>";
  const auto blocks = xml_blocks(xml, "Upload");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(xml_text(blocks[0], "Key"), "a");
  EXPECT_EQ(xml_text(blocks[1], "Key"), "b");
}

TEST(S3Xml, EscapeAndUnescapeRoundTrip) {
  const std::string text = "\"etag\" <&> 'x'";
  EXPECT_EQ(xml_escape(text), "&quot;etag&quot; &lt;&amp;&gt; &apos;x&apos;");
  EXPECT_EQ(xml_unescape(xml_escape(text)), text);
  EXPECT_EQ(xml_unescape("&unknown; &#xZZ; & alone"), "&unknown; &#xZZ; & alone");
}

}  // namespace
}  // namespace user_export
