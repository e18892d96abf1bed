#include "common/error.hpp"
#include "config/config.hpp"
#include "storage/local/local_store.hpp"
#include "storage/object_store.hpp"
#include "storage/s3/s3_store.hpp"

namespace user_export {

std::unique_ptr<ObjectStore> open_object_store(const StoreConfig& config, Metrics* metrics) {
  const std::string& url = config.url;
  if (url.starts_with("file://")) {
    return std::make_unique<LocalStore>(LocalStore::root_from_url(url));
  }
  if (url.starts_with("s3://")) {
    static ThreadSleeper sleeper;  // both thread-safe and stateless from the caller's view
    static SystemRandom random;
    return make_s3_store(config, metrics, sleeper, random);
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
