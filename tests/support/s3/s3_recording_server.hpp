// A minimal S3 look-alike for unit tests of S3Store: a cpp-httplib server on loopback that
// records every request (method, target, headers and body) and answers the calls an upload makes.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/digest.hpp"
#include "config/config.hpp"

namespace user_export::testing {

/// One request as the server received it.
struct RecordedRequest {
  std::string method;
  std::string target;  ///< path and query, as sent
  httplib::Headers headers;
  std::string body;

  /// The header's value ("" when absent); names are compared without regard to case.
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// Answers like S3: HEAD/GET of the bucket 200, HEAD of an object with its size (404 when
/// absent), CreateMultipartUpload (upload id `kUploadId`), UploadPart (ETag `"etag-N"`),
/// PutObject, CompleteMultipartUpload (the object is then the parts in order) and DELETE 204
/// (an object is removed). Like S3 and MinIO it checks the `Content-MD5` and
/// `x-amz-checksum-sha256` a PUT carries against the body it received, and answers a mismatch
/// with 400 BadDigest or XAmzContentChecksumMismatch. Object and part uploads are held (the answer
/// is delayed) while `hold` is set, up to 20 s or until the destructor.
class RecordingS3 {
 public:
  static constexpr const char* kUploadId = "upload-id-1";

  RecordingS3() {
    using namespace std::chrono_literals;
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.path.find('/', 1) == std::string::npos) {  // the bucket
        res.status = 200;
        if (req.has_param("uploads") && list_uploads) {  // ListMultipartUploads
          auto [status, body] = list_uploads(req.get_param_value("prefix"));
          res.status = status;
          res.set_content(body, "application/xml");
        }
        return;
      }
      std::lock_guard lock(mu_);
      const auto it = objects_.find(req.path);
      if (it == objects_.end()) {
        res.status = 404;
        return;
      }
      const auto size = static_cast<std::int64_t>(it->second.size());
      res.set_content(
          std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, size + size_error.load())),
                      'x'),
          "application/gzip");
      res.status = 200;
    });
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.has_param("uploads")) {
        res.set_content(std::string("<InitiateMultipartUploadResult><UploadId>") + kUploadId +
                            "</UploadId></InitiateMultipartUploadResult>",
                        "application/xml");
      } else {
        std::lock_guard lock(mu_);
        std::string object;
        for (const auto& [number, body] : parts_) object += body;
        objects_[req.path] = object;
        parts_.clear();
        res.set_content("<CompleteMultipartUploadResult/>", "application/xml");
      }
    });
    server_.Put(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (on_upload) on_upload();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 20s, [&] { return !hold || closing_; });
      if (const std::string code = checksum_error(req); !code.empty()) {
        res.status = 400;
        res.set_content("<Error><Code>" + code +
                            "</Code><Message>The checksum did not match what we received."
                            "</Message></Error>",
                        "application/xml");
        return;
      }
      if (req.has_param("partNumber")) {
        parts_[std::stoi(req.get_param_value("partNumber"))] = req.body;
      } else {
        objects_[req.path] = req.body;
      }
      res.set_header("ETag", "\"etag-" + req.get_param_value("partNumber") + "\"");
      res.status = 200;
    });
    server_.Delete(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::lock_guard lock(mu_);
      if (!req.has_param("uploadId")) objects_.erase(req.path);
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(5ms);
  }

  ~RecordingS3() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }

  RecordingS3(const RecordingS3&) = delete;
  RecordingS3& operator=(const RecordingS3&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// A store configuration for this server: `s3://bucket/exports`, path-style, test credentials,
  /// 30 s request timeout; size limits left at their defaults.
  StoreConfig store_config() const {
    StoreConfig c;
    c.url = "s3://bucket/exports";
    c.s3_endpoint = endpoint();
    c.s3_path_style = true;
    c.access_key = "access";
    c.secret_key = "secret";
    c.request_timeout = std::chrono::seconds(30);
    return c;
  }

  /// `METHOD target` of every request received so far, in order.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> lines;
    for (const auto& r : requests_) lines.push_back(r.method + " " + r.target);
    return lines;
  }

  /// Every request received so far, in order, with headers and body.
  std::vector<RecordedRequest> recorded() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  /// Waits until a request containing `part` arrived; false after `timeout`.
  bool wait_for_request(const std::string& part, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& r : requests_) {
        if ((r.method + " " + r.target).find(part) != std::string::npos) return true;
      }
      return false;
    });
  }

  /// Requests containing `part`.
  std::size_t count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& r : requests()) n += r.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  /// Whether an object is stored under `path` (`/bucket/key`).
  bool has_object(const std::string& path) const {
    std::lock_guard lock(mu_);
    return objects_.count(path) != 0;
  }

  /// The bytes stored under `path` (`/bucket/key`); "" when absent.
  std::string object(const std::string& path) const {
    std::lock_guard lock(mu_);
    const auto it = objects_.find(path);
    return it == objects_.end() ? std::string() : it->second;
  }

  std::atomic<bool> hold{true};     ///< delay upload answers
  std::function<void()> on_upload;  ///< called when an upload request arrives
  /// Answers ListMultipartUploads (status and body) for the `prefix` asked; unset = 200 empty.
  std::function<std::pair<int, std::string>(const std::string& prefix)> list_uploads;
  /// Added to the size a HEAD of an object reports (a store that lost or gained bytes).
  std::atomic<std::int64_t> size_error{0};

 private:
  /// The error code for a body that does not match the checksum its request carries; "" if it
  /// matches or carries none.
  static std::string checksum_error(const httplib::Request& req) {
    if (req.has_header("Content-MD5")) {
      Digest md5(Digest::Kind::kMd5);
      md5.update(req.body);
      if (req.get_header_value("Content-MD5") != to_base64(md5.finish())) return "BadDigest";
    }
    if (req.has_header("x-amz-checksum-sha256")) {
      Digest sha;
      sha.update(req.body);
      if (req.get_header_value("x-amz-checksum-sha256") != to_base64(sha.finish())) {
        return "XAmzContentChecksumMismatch";
      }
    }
    return "";
  }

  void record(const httplib::Request& req) {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(RecordedRequest{req.method, req.target, req.headers, req.body});
    }
    cv_.notify_all();
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, std::string> objects_;  ///< body by path
  std::map<int, std::string> parts_;            ///< body by part number (one upload at a time)
};

}  // namespace user_export::testing
