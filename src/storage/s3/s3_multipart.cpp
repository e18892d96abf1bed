#include "storage/s3/s3_multipart.hpp"

#include <algorithm>

#include "common/time_format.hpp"
#include "storage/s3/s3_xml.hpp"

namespace user_export {

std::vector<S3Part> plan_s3_parts(std::uint64_t size, std::uint64_t part_size) {
  constexpr std::uint64_t kMiB = 1ull << 20;
  part_size = std::max(part_size, kS3MinPartSize);
  const auto max_parts = static_cast<std::uint64_t>(kS3MaxParts);
  if ((size + part_size - 1) / part_size > max_parts) {
    const std::uint64_t needed = (size + max_parts - 1) / max_parts;
    part_size = (needed + kMiB - 1) / kMiB * kMiB;
  }
  std::vector<S3Part> parts;
  std::uint64_t offset = 0;
  int number = 1;
  do {
    const std::uint64_t length = std::min(part_size, size - offset);
    parts.push_back(S3Part{number++, offset, length});
    offset += length;
  } while (offset < size);
  return parts;
}

std::string s3_complete_body(const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           xml_escape(etags[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  return xml;
}

S3UploadListing parse_s3_upload_listing(std::string_view xml) {
  S3UploadListing listing;
  for (const std::string_view block : xml_blocks(xml, "Upload")) {
    S3PendingUpload upload;
    upload.key = xml_text(block, "Key").value_or("");
    upload.upload_id = xml_text(block, "UploadId").value_or("");
    if (const auto initiated = xml_text(block, "Initiated")) {
      upload.initiated = parse_iso8601(*initiated);
    }
    if (!upload.key.empty() && !upload.upload_id.empty()) listing.uploads.push_back(upload);
  }
  listing.truncated = xml_text(xml, "IsTruncated").value_or("false") == "true";
  listing.next_key_marker = xml_text(xml, "NextKeyMarker").value_or("");
  listing.next_upload_id_marker = xml_text(xml, "NextUploadIdMarker").value_or("");
  return listing;
}

std::vector<S3PendingUpload> stale_s3_uploads(const std::vector<S3PendingUpload>& uploads,
                                              SystemTime now, std::chrono::seconds max_age) {
  std::vector<S3PendingUpload> stale;
  for (const auto& upload : uploads) {
    if (upload.initiated && now - *upload.initiated > max_age) stale.push_back(upload);
  }
  return stale;
}

}  // namespace user_export
