// A minimal S3 look-alike for unit tests of S3Store: a cpp-httplib server on loopback that
// records every request (method, target, headers and body) and answers the calls an upload makes.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

/// Answers HEAD/GET 200, CreateMultipartUpload (upload id `kUploadId`), UploadPart (ETag
/// `"etag-N"`), PutObject, CompleteMultipartUpload and DELETE 204. Object and part uploads are
/// held (the answer is delayed) while `hold` is set, up to 20 s or until the destructor.
class RecordingS3 {
 public:
  static constexpr const char* kUploadId = "upload-id-1";

  RecordingS3() {
    using namespace std::chrono_literals;
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);  // HEAD of the bucket
      res.status = 200;
    });
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.has_param("uploads")) {
        res.set_content(std::string("<InitiateMultipartUploadResult><UploadId>") + kUploadId +
                            "</UploadId></InitiateMultipartUploadResult>",
                        "application/xml");
      } else {
        res.set_content("<CompleteMultipartUploadResult/>", "application/xml");
      }
    });
    server_.Put(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (on_upload) on_upload();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 20s, [&] { return !hold || closing_; });
      res.set_header("ETag", "\"etag-" + req.get_param_value("partNumber") + "\"");
      res.status = 200;
    });
    server_.Delete(".*", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
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

  std::atomic<bool> hold{true};     ///< delay upload answers
  std::function<void()> on_upload;  ///< called when an upload request arrives

 private:
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
};

}  // namespace user_export::testing
