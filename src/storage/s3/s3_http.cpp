#include "storage/s3/s3_http.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"

namespace user_export {
namespace {

constexpr std::size_t kMaxResponseBody = 8u << 20;
constexpr long kUploadBufferSize = 1L << 20;

std::once_flag g_curl_init;

/// State shared with libcurl's callbacks during one transfer.
struct Transfer {
  const S3HttpRequest* request = nullptr;
  S3HttpResult* result = nullptr;
  std::uint64_t position = 0;       ///< bytes of the body handed to libcurl so far
  long status = 0;                  ///< the status line of the response being received
  std::exception_ptr body_error{};  ///< what the request's on_body threw
};

std::size_t read_body(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t capacity = size * count;
  if (!t->request->file) {
    const std::string& body = t->request->body;
    const std::size_t n = std::min<std::size_t>(capacity, body.size() - t->position);
    std::memcpy(buffer, body.data() + t->position, n);
    t->position += n;
    return n;
  }
  const S3FileBody& file = *t->request->file;
  const std::uint64_t remaining = file.length - t->position;
  if (remaining == 0) return 0;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, remaining));
  ssize_t n = 0;
  do {
    n = ::pread(file.fd, buffer, want, static_cast<off_t>(file.offset + t->position));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    t->result->body_read_failed = true;
    t->result->body_read_error =
        n < 0 ? std::string(std::strerror(errno))
              : "the file ended " + std::to_string(remaining) +
                    " bytes early (was it changed or truncated while it was uploaded?)";
    return CURL_READFUNC_ABORT;
  }
  t->position += static_cast<std::uint64_t>(n);
  return static_cast<std::size_t>(n);
}

/// libcurl's progress callback: a non-zero answer aborts the transfer
/// (CURLE_ABORTED_BY_CALLBACK). Called often while data moves and about once a second otherwise.
int check_cancel(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->request->cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

int seek_body(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  const std::uint64_t size = t->request->file ? t->request->file->length : t->request->body.size();
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->position = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string& body = t->result->response.body;
  const std::size_t n = size * count;
  if (t->request->on_body && t->status >= 200 && t->status < 300) {
    try {
      t->request->on_body(std::string_view(data, n));
    } catch (...) {
      t->body_error = std::current_exception();
      return 0;  // stops the transfer (CURLE_WRITE_ERROR)
    }
    t->result->body_streamed += n;
    return n;
  }
  if (body.size() < kMaxResponseBody)
    body.append(data, std::min(n, kMaxResponseBody - body.size()));
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  auto& headers = t->result->response.headers;
  if (line.substr(0, 5) == "HTTP/") {
    headers.clear();  // a new response (after `100 Continue` or a redirect) starts
    const auto space = line.find(' ');
    t->status = space == std::string_view::npos
                    ? 0
                    : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  headers[name] = std::string(trim(line.substr(colon + 1)));
  return n;
}

template <typename T>
void set(CURL* h, CURLoption option, T value) {
  // Options set here are all valid for this libcurl; a failure would be a build problem that the
  // transfer itself then reports.
  (void)curl_easy_setopt(h, option, value);
}

}  // namespace

std::string S3HttpResponse::header(const std::string& lower_case_name) const {
  const auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0F]);
  }
  return out;
}

S3HttpClient::S3HttpClient(S3HttpOptions options)
    : options_(std::move(options)), sigv4_("aws:amz:" + options_.region + ":s3") {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

S3HttpClient::~S3HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3HttpClient::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (h == nullptr) throw Error(ErrorCode::kInternal, "libcurl could not create a handle");
  return h;
}

void S3HttpClient::release(void* handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(handle);
}

S3HttpResult S3HttpClient::perform(const S3HttpRequest& request) {
  curl_slist* headers = nullptr;
  const bool streamed = request.file.has_value();
  const std::string payload_hash = streamed ? "UNSIGNED-PAYLOAD" : sha256_hex(request.body);
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + payload_hash).c_str());
  for (const auto& [name, value] : request.headers) {
    if (value.empty()) {
      curl_slist_free_all(headers);
      throw Error(ErrorCode::kInternal, "S3 request header '" + name +
                                            "' is empty; libcurl would sign it without sending "
                                            "it, so the request must not carry it");
    }
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }

  S3HttpResult result;
  Transfer transfer{&request, &result, 0};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto* h = static_cast<CURL*>(acquire());
  curl_easy_reset(h);
  set(h, CURLOPT_URL, request.url.c_str());
  set(h, CURLOPT_NOSIGNAL, 1L);
  set(h, CURLOPT_PATH_AS_IS, 1L);
  set(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  set(h, CURLOPT_USERNAME, options_.access_key.c_str());
  set(h, CURLOPT_PASSWORD, options_.secret_key.c_str());
  set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  const auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  set(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  set(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_bundle.empty()) set(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  set(h, CURLOPT_TCP_KEEPALIVE, 1L);
  set(h, CURLOPT_ERRORBUFFER, error_buffer);
  set(h, CURLOPT_HTTPHEADER, headers);
  set(h, CURLOPT_HEADERFUNCTION, write_header);
  set(h, CURLOPT_HEADERDATA, &transfer);
  set(h, CURLOPT_WRITEFUNCTION, write_body);
  set(h, CURLOPT_WRITEDATA, &transfer);
  set(h, CURLOPT_READFUNCTION, read_body);
  set(h, CURLOPT_READDATA, &transfer);
  set(h, CURLOPT_SEEKFUNCTION, seek_body);
  set(h, CURLOPT_SEEKDATA, &transfer);
  if (request.cancel != nullptr) {
    set(h, CURLOPT_NOPROGRESS, 0L);
    set(h, CURLOPT_XFERINFOFUNCTION, check_cancel);
    set(h, CURLOPT_XFERINFODATA, &transfer);
  }

  const auto body_size =
      static_cast<curl_off_t>(streamed ? request.file->length : request.body.size());
  if (request.method == "HEAD") {
    set(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    set(h, CURLOPT_UPLOAD, 1L);
    set(h, CURLOPT_INFILESIZE_LARGE, body_size);
    set(h, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferSize);
  } else if (request.method == "POST") {
    set(h, CURLOPT_POST, 1L);
    set(h, CURLOPT_POSTFIELDSIZE_LARGE, body_size);
  } else if (request.method != "GET") {
    set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(h);
  result.curl_code = static_cast<int>(code);
  if (code == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.response.status);
  } else {
    result.curl_message = error_buffer;
    result.cancelled = code == CURLE_ABORTED_BY_CALLBACK && request.cancel != nullptr &&
                       request.cancel->load() && !result.body_read_failed;
  }
  curl_slist_free_all(headers);
  curl_easy_reset(h);  // drops pointers to this call's buffers; cached connections stay
  release(h);
  if (transfer.body_error) std::rethrow_exception(transfer.body_error);
  return result;
}

}  // namespace user_export
