#include "common/error.hpp"
#include "config/config.hpp"
#include "storage/local/local_store.hpp"
#include "storage/object_store.hpp"

namespace user_export {

std::unique_ptr<ObjectStore> open_object_store(const StoreConfig& config) {
  const std::string& url = config.url;
  if (url.starts_with("file://")) {
    return std::make_unique<LocalStore>(LocalStore::root_from_url(url));
  }
  if (url.starts_with("s3://")) {
    throw Error(ErrorCode::kConfig,
                "the S3 store is not built into this binary; use a file:///absolute/dir store "
                "URL or a build that includes S3 support");
  }
  if (url.empty()) {
    throw Error(ErrorCode::kConfig,
                "no object store configured; set store.url or USER_EXPORT_STORE_URL to "
                "s3://bucket/prefix or file:///absolute/dir");
  }
  throw Error(ErrorCode::kConfig, "unsupported store URL '" + url +
                                      "'; use s3://bucket/prefix or file:///absolute/dir");
}

}  // namespace user_export
