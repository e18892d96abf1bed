#pragma once

#include <functional>
#include <string>

#include "storage/object_store.hpp"

namespace user_export::testing {

/// An object store that hands every call to `inner`; tests derive from it to watch or change
/// one call.
class DelegatingStore : public ObjectStore {
 public:
  explicit DelegatingStore(ObjectStore& inner) : inner_(inner) {}
  void ensure_ready() override { inner_.ensure_ready(); }
  StoredObject put(const PutRequest& request) override { return inner_.put(request); }
  void remove(const std::string& key) override { inner_.remove(key); }
  bool exists(const std::string& key) override { return inner_.exists(key); }
  void read(const std::string& key, const ObjectChunkFn& chunk) override {
    inner_.read(key, chunk);
  }
  int abort_unfinished(const std::string& key) override { return inner_.abort_unfinished(key); }
  std::string key_prefix() const override { return inner_.key_prefix(); }

 private:
  ObjectStore& inner_;
};

/// A store whose put() runs `before_put(request)` first (which may throw), then delegates.
class HookedStore final : public DelegatingStore {
 public:
  using DelegatingStore::DelegatingStore;
  StoredObject put(const PutRequest& request) override {
    if (before_put) before_put(request);
    return DelegatingStore::put(request);
  }
  std::function<void(const PutRequest&)> before_put;
};

}  // namespace user_export::testing
