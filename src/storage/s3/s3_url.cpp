#include "storage/s3/s3_url.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"

namespace user_export {
namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

bool is_bucket_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void check_bucket_name(const std::string& bucket, std::string_view url) {
  const bool valid = bucket.size() >= 3 && bucket.size() <= 63 &&
                     std::all_of(bucket.begin(), bucket.end(), is_bucket_char) &&
                     is_alnum_lower(bucket.front()) && is_alnum_lower(bucket.back()) &&
                     bucket.find("..") == std::string::npos;
  if (!valid) {
    throw Error(ErrorCode::kConfig,
                "store URL '" + std::string(url) + "' names bucket '" + bucket +
                    "', which S3 does not accept: use 3-63 characters of a-z, 0-9, '.' and '-', "
                    "starting and ending with a letter or digit");
  }
}

std::string trim_slashes(std::string_view text) {
  while (!text.empty() && text.front() == '/') text.remove_prefix(1);
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

S3Location parse_s3_location(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    throw Error(ErrorCode::kConfig,
                "store URL '" + std::string(url) + "' is not an S3 URL: write s3://bucket/prefix");
  }
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  S3Location location;
  location.bucket = std::string(rest.substr(0, slash));
  if (location.bucket.empty()) {
    throw Error(ErrorCode::kConfig,
                "store URL '" + std::string(url) + "' has no bucket: write s3://bucket/prefix");
  }
  check_bucket_name(location.bucket, url);
  if (slash != std::string_view::npos) location.prefix = trim_slashes(rest.substr(slash + 1));
  return location;
}

S3Endpoint parse_s3_endpoint(std::string_view endpoint, std::string_view region) {
  S3Endpoint result;
  if (endpoint.empty()) {
    result.scheme = "https";
    result.authority = "s3." + std::string(region) + ".amazonaws.com";
    return result;
  }
  const auto sep = endpoint.find("://");
  if (sep == std::string_view::npos) {
    throw Error(ErrorCode::kConfig, "S3 endpoint '" + std::string(endpoint) +
                                        "' has no scheme: write http://host:port or "
                                        "https://host");
  }
  result.scheme = std::string(endpoint.substr(0, sep));
  std::transform(result.scheme.begin(), result.scheme.end(), result.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (result.scheme != "http" && result.scheme != "https") {
    throw Error(ErrorCode::kConfig, "S3 endpoint '" + std::string(endpoint) + "' uses scheme '" +
                                        result.scheme + "': only http and https are supported");
  }
  std::string_view rest = endpoint.substr(sep + 3);
  const auto slash = rest.find('/');
  result.authority = std::string(rest.substr(0, slash));
  if (result.authority.empty() || rest.find_first_of("?#@") != std::string_view::npos) {
    throw Error(ErrorCode::kConfig,
                "S3 endpoint '" + std::string(endpoint) +
                    "' is not of the form scheme://host[:port][/path] (no user, query or "
                    "fragment)");
  }
  if (slash != std::string_view::npos) {
    std::string base = trim_slashes(rest.substr(slash));
    if (!base.empty()) result.base_path = "/" + base;
  }
  return result;
}

std::string s3_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string s3_canonical_query(S3Query query) {
  for (auto& [name, value] : query) {
    name = s3_uri_encode(name, false);
    value = s3_uri_encode(value, false);
  }
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

S3Addressing::S3Addressing(S3Endpoint endpoint, std::string bucket, bool path_style)
    : endpoint_(std::move(endpoint)), bucket_(std::move(bucket)), path_style_(path_style) {}

std::string S3Addressing::root() const {
  if (path_style_) {
    return endpoint_.scheme + "://" + endpoint_.authority + endpoint_.base_path + "/" +
           s3_uri_encode(bucket_, false);
  }
  return endpoint_.scheme + "://" + bucket_ + "." + endpoint_.authority + endpoint_.base_path;
}

std::string S3Addressing::bucket_url(const S3Query& query) const {
  // Path style: `/bucket`; virtual-host style: the bucket is in the host, the path is `/`.
  std::string url = root();
  if (!path_style_) url.push_back('/');
  if (!query.empty()) url += "?" + s3_canonical_query(query);
  return url;
}

std::string S3Addressing::object_url(std::string_view key, const S3Query& query) const {
  std::string url = root() + "/" + s3_uri_encode(key, true);
  if (!query.empty()) url += "?" + s3_canonical_query(query);
  return url;
}

std::string S3Addressing::host() const {
  std::string authority = endpoint_.authority;
  const std::string default_port = endpoint_.scheme == "https" ? ":443" : ":80";
  if (authority.ends_with(default_port)) authority.resize(authority.size() - default_port.size());
  return path_style_ ? authority : bucket_ + "." + authority;
}

std::string S3Addressing::object_path(std::string_view key) const {
  std::string path = endpoint_.base_path;
  if (path_style_) path += "/" + s3_uri_encode(bucket_, false);
  return path + "/" + s3_uri_encode(key, true);
}

std::string S3Addressing::endpoint_text() const {
  return endpoint_.scheme + "://" + endpoint_.authority + endpoint_.base_path;
}

std::string s3_object_uri(std::string_view bucket, std::string_view key) {
  return "s3://" + std::string(bucket) + "/" + std::string(key);
}

}  // namespace user_export
