// Unfinished multipart uploads: the age-based clean-up of a prefix at start-up, and the
// exact-key abort of the uploads of one object key (docs/S3.md, "Unfinished uploads").
#include <spdlog/spdlog.h>

#include "storage/s3/s3_store.hpp"

namespace user_export {
namespace {

constexpr int kMaxListingPages = 100;

}  // namespace

bool S3Store::list_uploads(const std::string& prefix,
                           const std::function<void(const std::vector<S3PendingUpload>&)>& visit) {
  const auto ctx = context("list incomplete multipart uploads", prefix);
  S3Query base{{"uploads", ""}};
  if (!prefix.empty()) base.emplace_back("prefix", prefix);
  std::string key_marker;
  std::string upload_id_marker;
  for (int page = 0; page < kMaxListingPages; ++page) {
    S3Query query = base;
    if (!key_marker.empty()) query.emplace_back("key-marker", key_marker);
    if (!upload_id_marker.empty()) query.emplace_back("upload-id-marker", upload_id_marker);
    const auto listed = send_with_retry(
        S3HttpRequest{"GET", addressing_.bucket_url(query), {}, {}, {}}, ctx, {405, 501});
    if (listed.status == 405 || listed.status == 501) return false;
    const auto listing = parse_s3_upload_listing(listed.body);
    visit(listing.uploads);
    if (!listing.truncated || listing.next_key_marker.empty()) break;
    key_marker = listing.next_key_marker;
    upload_id_marker = listing.next_upload_id_marker;
  }
  return true;
}

void S3Store::abort_stale_uploads() {
  // A prefix listing: AWS S3 answers it; MinIO lists uploads only for an exact key and answers
  // none here, which is why runs also abort the uploads of their own keys (abort_unfinished).
  int aborted = 0;
  try {
    const bool listed =
        list_uploads(location_.prefix.empty() ? "" : location_.prefix + "/",
                     [&](const std::vector<S3PendingUpload>& uploads) {
                       for (const auto& upload : stale_s3_uploads(uploads, clock_.now(),
                                                                  config_.abort_incomplete_after)) {
                         if (abort_upload(upload.key, upload.upload_id)) ++aborted;
                       }
                     });
    if (!listed) {
      spdlog::warn(
          "skipped the clean-up of stale multipart uploads bucket={}: the server does "
          "not list multipart uploads",
          location_.bucket);
      return;
    }
  } catch (const Error& e) {
    spdlog::warn("skipped the clean-up of stale multipart uploads bucket={} prefix={}: {}",
                 location_.bucket, location_.prefix, e.what());
    return;
  }
  if (aborted > 0) {
    spdlog::info("aborted stale multipart uploads bucket={} prefix={} count={}", location_.bucket,
                 location_.prefix, aborted);
  }
}

bool S3Store::exists(const std::string& key) {
  ensure_ready();
  const auto answer = send_with_retry(
      S3HttpRequest{"HEAD", addressing_.object_url(key), {}, {}, {}}, context("check", key), {404});
  return answer.status != 404;
}

int S3Store::abort_unfinished(const std::string& key) {
  ensure_ready();
  std::vector<S3PendingUpload> found;
  // A server without ListMultipartUploads (405/501) has nothing this can find.
  list_uploads(key, [&](const std::vector<S3PendingUpload>& uploads) {
    for (const auto& upload : uploads) {
      if (upload.key == key) found.push_back(upload);  // not the longer keys sharing it
    }
  });
  int aborted = 0;
  for (const auto& upload : found) {
    if (abort_upload(upload.key, upload.upload_id)) ++aborted;
  }
  if (aborted < static_cast<int>(found.size())) {
    throw Error(ErrorCode::kStorage,
                "could abort only " + std::to_string(aborted) + " of the " +
                    std::to_string(found.size()) + " unfinished multipart uploads of '" + key +
                    "' in bucket " + location_.bucket + " (see the log lines above)",
                true);
  }
  return aborted;
}

}  // namespace user_export
