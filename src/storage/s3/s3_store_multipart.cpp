// The multipart half of S3Store: start, parts (optionally in parallel), complete, abort.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_part_digests.hpp"
#include "storage/s3/s3_store.hpp"
#include "storage/s3/s3_xml.hpp"

namespace user_export {
namespace {

void inc(Counter* counter) {
  if (counter != nullptr) counter->inc();
}

/// Limit of the single abort request sent after a cancellation.
constexpr std::chrono::milliseconds kQuickAbortTimeout{5000};

}  // namespace

void S3Store::put_multipart(const PutRequest& request, const S3Headers& headers, int fd,
                            std::uint64_t size) {
  const std::string& key = request.key;
  const std::atomic<bool>* cancel = request.cancel;
  const std::vector<S3Part> parts = plan_s3_parts(size, config_.part_size);
  const std::string upload_id = start_upload(key, headers, cancel);

  // Workers take the next part number from `next`; the first failure stops new parts and
  // in-flight retries, and is the error reported. A cancellation is such a failure: the part in
  // flight is interrupted and the next one is not sent. `etags` slots are written by one worker
  // each and read only after every worker has joined. A verified upload reads each part for its
  // Content-MD5 before sending it, and the whole file's SHA-256 on the way (PartDigests).
  std::optional<S3PartDigests> digests;
  if (!request.sha256.empty()) {
    digests.emplace(fd, request.file,
                    "S3 multipart upload of '" + key + "' in bucket '" + location_.bucket + "'");
  }
  std::vector<std::string> etags(parts.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::exception_ptr first_error;
  auto worker = [&] {
    while (!failed.load()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= parts.size()) return;
      try {
        std::string md5;
        if (digests) {
          md5 = digests->content_md5(i, parts[i], size);
          // The last part goes up only if the parts read are the writer's file.
          if (i + 1 == parts.size()) digests->verify(size, request.sha256);
        }
        etags[i] = upload_part(key, upload_id, parts[i], parts.size(), fd, md5, failed, cancel);
      } catch (...) {
        {
          std::lock_guard lock(error_mu);
          if (!first_error) first_error = std::current_exception();
        }
        failed.store(true);
        if (digests) digests->abandon();  // after first_error: a woken waiter's error is not it
        return;
      }
    }
  };
  const auto threads =
      std::min<std::size_t>(static_cast<std::size_t>(config_.parallel_parts), parts.size());
  {
    std::vector<std::jthread> helpers;
    for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
    worker();
  }
  const bool cancelled = cancel != nullptr && cancel->load();
  if (cancelled && !first_error) {  // every part went up just before the cancellation
    first_error = std::make_exception_ptr(s3_cancelled_error(context("multipart upload", key)));
  }
  if (first_error) {
    abort_upload(key, upload_id, cancelled);
    std::rethrow_exception(first_error);
  }
  try {
    complete_upload(key, upload_id, etags, size);
  } catch (const Error&) {
    abort_upload(key, upload_id);
    throw;
  }
}

std::string S3Store::start_upload(const std::string& key, const S3Headers& headers,
                                  const std::atomic<bool>* cancel) {
  S3HttpRequest start{"POST", addressing_.object_url(key, {{"uploads", ""}}), headers, {}, {}};
  start.cancel = cancel;
  const auto started = send_with_retry(start, context("start of multipart upload", key));
  std::string upload_id = xml_text(started.body, "UploadId").value_or("");
  if (upload_id.empty()) {
    throw Error(ErrorCode::kStorage,
                "S3 start of multipart upload of '" + key + "' in bucket '" + location_.bucket +
                    "' got no UploadId from " + addressing_.endpoint_text() +
                    "; the server is not S3-compatible enough for multipart uploads: raise the "
                    "multipart threshold to upload with a single PUT",
                false);
  }
  return upload_id;
}

std::string S3Store::upload_part(const std::string& key, const std::string& upload_id,
                                 const S3Part& part, std::size_t part_count, int fd,
                                 const std::string& content_md5, const std::atomic<bool>& failed,
                                 const std::atomic<bool>* cancel) {
  const auto ctx = context("upload of part " + std::to_string(part.number) +
                               (part_count > 0 ? " of " + std::to_string(part_count) : ""),
                           key);
  S3HttpRequest request{"PUT",
                        addressing_.object_url(key, {{"partNumber", std::to_string(part.number)},
                                                     {"uploadId", upload_id}}),
                        {},
                        {},
                        S3FileBody{fd, part.offset, part.length}};
  if (!content_md5.empty()) request.headers.emplace_back("Content-MD5", content_md5);
  request.cancel = cancel;
  const auto answer = send_with_retry(request, ctx, {}, &failed);
  std::string etag = answer.header("etag");
  if (etag.empty()) {
    throw Error(ErrorCode::kStorage,
                "S3 " + ctx.operation + " of '" + key + "' got no ETag from " + ctx.endpoint +
                    "; the server is not S3-compatible enough for multipart uploads: raise the "
                    "multipart threshold to upload with a single PUT",
                false);
  }
  return etag;
}

void S3Store::complete_upload(const std::string& key, const std::string& upload_id,
                              const std::vector<std::string>& etags, std::uint64_t size) {
  const auto ctx = context("completion of multipart upload", key);
  const S3HttpRequest request{"POST",
                              addressing_.object_url(key, {{"uploadId", upload_id}}),
                              {{"Content-Type", "application/xml"}},
                              s3_complete_body(etags),
                              {}};
  int attempt = 0;
  with_retry([&] {
    ++attempt;
    const auto answer = send(request, ctx, {404});
    const std::string code = xml_text(answer.body, "Code").value_or("");
    if (answer.status == 404 && code == "NoSuchUpload" && attempt > 1) {
      // An earlier attempt may have completed the upload and lost only the answer: the object
      // is then there with the expected size.
      const auto head = send(S3HttpRequest{"HEAD", addressing_.object_url(key), {}, {}, {}},
                             context("check of completed upload", key), {404});
      if (head.status == 200 && head.header("content-length") == std::to_string(size)) return;
    }
    // S3 may answer 200 with an <Error> document when completion fails late.
    if (answer.status == 404 || !xml_blocks(answer.body, "Error").empty()) {
      throw s3_http_error(ctx, answer.status, answer.body);
    }
  });
}

bool S3Store::abort_upload(const std::string& key, const std::string& upload_id, bool once) {
  const auto ctx = context("abort of multipart upload", key);
  try {
    S3HttpRequest request{
        "DELETE", addressing_.object_url(key, {{"uploadId", upload_id}}), {}, {}, {}};
    const std::vector<long> accepted{404, 405, 501};
    if (once) request.timeout = std::min(config_.request_timeout, kQuickAbortTimeout);
    const auto answer =
        once ? send(request, ctx, accepted) : send_with_retry(request, ctx, accepted);
    if (answer.status == 405 || answer.status == 501) {
      throw Error(ErrorCode::kStorage,
                  "the server at " + ctx.endpoint +
                      " does not implement AbortMultipartUpload (HTTP " +
                      std::to_string(answer.status) + ")",
                  false);
    }
  } catch (const Error& e) {
    inc(meters_.abort_failures);
    spdlog::warn(
        "could not abort multipart upload upload_id={} bucket={} key={}: {}; its parts "
        "stay on the server until a lifecycle rule or the stale-upload clean-up "
        "(abort_incomplete_after) removes them",
        upload_id, location_.bucket, key, e.what());
    return false;
  }
  inc(meters_.aborted);
  spdlog::info("aborted multipart upload upload_id={} bucket={} key={}", upload_id,
               location_.bucket, key);
  return true;
}

}  // namespace user_export
