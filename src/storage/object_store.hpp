#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "domain/ids.hpp"
#include "domain/run.hpp"

namespace user_export {

struct StoreConfig;
class Metrics;

/// An object to upload from a staged file.
struct PutRequest {
  std::string key;             ///< full key inside the store (prefix included)
  std::filesystem::path file;  ///< staged file, streamed, never loaded whole (names it in errors)
  std::string content_type = "application/gzip";
  std::map<std::string, std::string> metadata;  ///< e.g. schema-version, row-count, sha256
  /// Optional shutdown flag, owned by the caller (ExportDeps::cancel). A store that observes it
  /// (S3: before each request, between multipart parts and during a transfer) stops once it
  /// reads true, leaves nothing under the key and throws a non-retriable Error(kStorage)
  /// "… cancelled by shutdown". Null = never cancelled.
  const std::atomic<bool>* cancel = nullptr;
  /// An open, readable descriptor of the staged file, borrowed (the caller closes it). When it
  /// is >= 0 the store reads the bytes through it (positioned reads from offset 0) and never
  /// opens `file`, so the upload is exactly the file its writer produced even if something
  /// replaced or removed the path meanwhile (docs/ARCHITECTURE.md, "One writer per run").
  int fd = -1;
  /// The size and lower-case hex SHA-256 of the staged file as its writer computed them.
  /// When `sha256` is set, put() returns only once the store holds exactly these bytes under
  /// the key: the S3 store has the server verify every request's body (x-amz-checksum-sha256
  /// on a single PUT, Content-MD5 on each part) and checks the object's size afterwards; the
  /// local store fsyncs, reads the object back and compares size and digest. A mismatch (the
  /// file changed under the upload, a store that lost bytes) is a retriable Error(kStorage);
  /// what the put wrote is removed.
  std::int64_t bytes = -1;
  std::string sha256;
};

/// Where an uploaded object lives.
struct StoredObject {
  std::string bucket;  ///< empty for the local store
  std::string key;
  std::string url;  ///< `s3://bucket/key` or `file:///abs/path`
  std::int64_t bytes = 0;
  /// The SHA-256 the store confirmed for the object (PutRequest::sha256 once verified; empty
  /// when the request gave none).
  std::string sha256;
};

/// What is known of a staged file once its writer finished it.
struct FinishedFile {
  std::int64_t bytes = 0;  ///< the writer's size
  std::string sha256;      ///< the writer's lower-case hex SHA-256
  /// Metadata only known now (`sha256`), added to PutRequest::metadata. A store whose object
  /// was already started without it (an S3 multipart upload begun while the file grew) leaves
  /// it out: object metadata cannot change once the upload started.
  std::map<std::string, std::string> metadata;
};

/// `request` completed with what the writer knows once it finished: its size, its SHA-256 and
/// the metadata only known then. What a put() of the finished file is asked to store.
inline PutRequest finished_put(PutRequest request, const FinishedFile& file) {
  request.bytes = file.bytes;
  request.sha256 = file.sha256;
  for (const auto& [name, value] : file.metadata) request.metadata[name] = value;
  return request;
}

/// An upload that may run while its staged file is being written (ObjectStore::begin_upload):
/// the writer reports how far the file is written, then finishes it with the file's size and
/// digest. Destroying it before finish() returned abandons it: whatever it started is aborted
/// and nothing is left under the key. Not thread-safe: one writer thread calls it.
class StreamingUpload {
 public:
  virtual ~StreamingUpload() = default;
  /// The first `bytes` bytes of the file are written through its descriptor and will not
  /// change. Cheap: never waits for the network (a store uploads in the background).
  virtual void written(std::int64_t bytes) = 0;
  /// The file is complete: uploads what is left and returns once the store holds exactly the
  /// writer's bytes, with the same guarantees and errors as ObjectStore::put() given
  /// `file.bytes` and `file.sha256`. Call at most once.
  virtual StoredObject finish(const FinishedFile& file) = 0;
};

/// Receives the bytes of an object being read, in order, a bounded chunk at a time; the view is
/// valid only during the call. Throwing stops the read (the exception propagates).
using ObjectChunkFn = std::function<void(std::string_view chunk)>;

/// The object store (the spec's MinioUploadService). Implementations are thread-safe.
/// Failures are Error(kStorage), retriable for timeouts, 5xx and 429.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  /// Ensures the bucket / root directory exists (once per process; concurrent creation by
  /// another instance is success).
  virtual void ensure_ready() = 0;
  /// Uploads the file under `request.key`, replacing any object with that key (so a retried run
  /// overwrites, never duplicates). Nothing is visible under the key until the upload is whole.
  virtual StoredObject put(const PutRequest& request) = 0;
  /// Deletes the object `key` (and whatever the store keeps beside it); an absent object is
  /// success. Used for the objects of attempts that were not committed. Failures are
  /// Error(kStorage), retriable as for put().
  virtual void remove(const std::string& key) = 0;
  /// Whether an object is stored under `key`. Failures are Error(kStorage).
  virtual bool exists(const std::string& key) = 0;
  /// Reads the object `key` back, streamed: `chunk` receives its bytes in order, a bounded
  /// chunk at a time, so memory does not grow with the object (`verify` digests and counts
  /// what the consumer would download). An absent object is a non-retriable Error(kStorage)
  /// saying so; other failures are Error(kStorage), retriable as for put().
  virtual void read(const std::string& key, const ObjectChunkFn& chunk) = 0;
  /// Removes the unfinished writes of exactly `key` that the store holds, never the object
  /// itself: S3 aborts every multipart upload of the key (listed with the key as the prefix
  /// and matched exactly, which MinIO answers only for a whole key); the local store removes
  /// the key's temporary files. Called for keys whose writers are dead or fenced off: the
  /// earlier attempts' keys when a run is resumed, an attempt's key when it fails, every key of
  /// a run once it is committed, and by the start-up sweep. Returns how many it removed.
  /// Failures are Error(kStorage), retriable as for put().
  virtual int abort_unfinished(const std::string& key) = 0;
  /// The key prefix from the store URL ("" when none), without trailing slash.
  virtual std::string key_prefix() const = 0;
  /// A URL from which anyone holding it can download the object `key` without credentials of
  /// their own, for a limited time (S3 with `presign_seconds` > 0: a SigV4 presigned GET, valid
  /// from now for that many seconds), or nullopt when the store cannot give one or is not
  /// configured to (the default; the local store). Sends no request, so it says nothing about
  /// whether the object exists. Thread-safe; the URL holds no secret.
  virtual std::optional<std::string> download_url(const std::string& /*key*/) const {
    return std::nullopt;
  }
  /// Whether begin_upload() sends bytes while the file is being written (S3: the parts of a
  /// multipart upload); false when it uploads only once the file is complete.
  virtual bool streams_uploads() const { return false; }
  /// Starts the upload of a file that is still being written through `request.fd` (which must
  /// be >= 0, stay open and only grow until finish()); `request.bytes` and `request.sha256` are
  /// given to finish(). The default waits for finish() and then calls put().
  virtual std::unique_ptr<StreamingUpload> begin_upload(const PutRequest& request);
};

/// The default StreamingUpload: put() of the whole file once it is finished.
class PutWhenFinished final : public StreamingUpload {
 public:
  PutWhenFinished(ObjectStore& store, PutRequest request)
      : store_(store), request_(std::move(request)) {}
  void written(std::int64_t /*bytes*/) override {}
  StoredObject finish(const FinishedFile& file) override {
    return store_.put(finished_put(request_, file));
  }

 private:
  ObjectStore& store_;
  PutRequest request_;
};

inline std::unique_ptr<StreamingUpload> ObjectStore::begin_upload(const PutRequest& request) {
  return std::make_unique<PutWhenFinished>(*this, request);
}

/// The object key of one attempt of a run:
/// `{prefix}/{domain_id}/{group_id}/{slot:%Y-%m-%dT%H%M}Z/{run_id}.attempt-{attempt}.csv.gz`
/// (no leading slash when the prefix is empty). Every attempt writes its own key, so a stalled
/// writer of an earlier attempt can never replace the object a later attempt committed
/// (docs/ARCHITECTURE.md, "One writer per run").
std::string object_key_for(const std::string& prefix, const DomainId& domain, const GroupId& group,
                           Slot slot, const RunId& run_id, int attempt);

/// Opens the store named by config.url (`file:///abs/dir` or `s3://bucket/prefix`); `metrics`,
/// when given, must outlive the store. Throws Error(kConfig) for an unknown scheme or a
/// relative path.
std::unique_ptr<ObjectStore> open_object_store(const StoreConfig& config,
                                               Metrics* metrics = nullptr);

}  // namespace user_export
