#include "exporter/file_exporter.hpp"

#include <algorithm>
#include <optional>
#include <system_error>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "exporter/claim_check.hpp"
#include "exporter/lease_keeper.hpp"
#include "exporter/staged_csv.hpp"
#include "observe/log.hpp"
#include "observe/meter_catalogue.hpp"

namespace user_export {
namespace {

/// Feeds streamed rows to the staged CSV and stops once the lease is lost or shutdown began.
class CsvRowHandler final : public RowHandler {
 public:
  CsvRowHandler(StagedCsv& csv, const LeaseKeeper& lease) : csv_(csv), lease_(lease) {}
  void on_row(RowView row) override {
    csv_.write_row(row);
    if ((++rows_ & 0x3ff) == 0) lease_.tick();
  }

 private:
  StagedCsv& csv_;
  const LeaseKeeper& lease_;
  std::uint64_t rows_ = 0;
};

Labels group_labels(const MatchingGroup& group) {
  return {{"group_id", group.id.str()}};
}

}  // namespace

FileExporter::FileExporter(ExportDeps deps) : deps_(std::move(deps)) {
  for (const auto& column : deps_.config.csv.columns) {
    fields_.push_back(column.source);
    masks_.push_back(column.mask);
  }
}

std::filesystem::path FileExporter::staged_path(const ExportRun& run) const {
  return deps_.staging.file_for(run.run_id.str() + ".attempt-" + std::to_string(run.attempts));
}

ExportOutcome FileExporter::export_run(const MatchingGroup& group, const ExportRun& run,
                                       const LeaseKeeper& lease) {
  const auto started = deps_.clock.monotonic();
  if (run.attempts > 1) {  // a resumed run: earlier attempts' uploads can never complete now
    abort_unfinished_uploads(group, run, 1, run.attempts - 1, "the run was resumed");
  }
  const auto path = staged_path(run);
  {
    std::error_code ec;  // a crashed earlier process may have left a file of this name
    std::filesystem::remove(path, ec);
  }
  StagedFileGuard guard(path);
  std::optional<StagedCsv> csv;
  // Declared after the file: an upload abandoned by a failure is aborted while its descriptor
  // is still open.
  std::unique_ptr<StreamingUpload> streaming;
  ExportedFile file;
  // Stream: rows -> CSV -> gzip -> staged file, digest computed on the way; the store may
  // upload each block as soon as it is in the file (S3: the parts of a multipart upload).
  try {
    csv.emplace(deps_.config, masks_, path);
    streaming = deps_.store.begin_upload(
        put_request(group, run, path, csv->read_fd(), UploadLease{lease, 0}, run.item_count));
    csv->on_written([upload = streaming.get()](std::int64_t bytes) { upload->written(bytes); });
    CsvRowHandler handler(*csv, lease);
    deps_.repository.stream_rows(run.run_id, fields_, handler);
    lease.tick();  // a shutdown or a lost lease during the stream stops here, before the upload
    file = csv->finish();
    fault_point("after_stage");
  } catch (const Error& e) {
    count_csv_failure(group, e);
    throw;
  }
  // The upload reads the descriptor the writer created, not the path.
  return upload(group, run, std::move(file), seconds_since(deps_.clock, started),
                UploadLease{lease, 0}, csv->read_fd(), streaming.get());
}

PutRequest FileExporter::put_request(const MatchingGroup& group, const ExportRun& run,
                                     const std::filesystem::path& path, int fd, UploadLease lease,
                                     std::int64_t rows) const {
  // The attempt's own key: a stalled writer of another attempt can never replace the object
  // that this attempt commits (docs/ARCHITECTURE.md, "One writer per run").
  PutRequest put;
  put.key = object_key_for(deps_.store.key_prefix(), group.domain_id, group.id, run.slot,
                           run.run_id, run.attempts);
  put.file = path;
  put.fd = fd;
  put.content_type = "application/gzip";
  // A shutdown or a lost lease interrupts the upload; the claim is kept.
  put.cancel = lease.keeper.stop_flag(lease.index);
  put.metadata = {{"schema-version", kSchemaVersion},
                  {"row-count", std::to_string(rows)},
                  {"run-id", run.run_id.str()},
                  {"attempt", std::to_string(run.attempts)}};
  return put;
}

StoredObject FileExporter::finish_upload(StreamingUpload& streaming, const PutRequest& put,
                                         const ExportRun& run) {
  try {
    return streaming.finish(FinishedFile{put.bytes, put.sha256, {{"sha256", put.sha256}}});
  } catch (const Error& e) {
    // An upload that failed while the file grew is retried once from the staged file, unless
    // it was stopped (lease lost, shutdown) or cannot succeed later.
    const bool stopped = put.cancel != nullptr && put.cancel->load();
    if (!deps_.store.streams_uploads() || stopped || !e.retriable()) throw;
    log::warn("the upload while streaming failed; uploading the staged file again",
              {{"run_id", run.run_id}, {"key", put.key}, {"error", e.what()}});
  }
  return deps_.store.put(put);
}

void FileExporter::count_csv_failure(const MatchingGroup& group, const Error& e) {
  if (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kConfig) {
    deps_.metrics.counter(meters::kCsvFailures, group_labels(group)).inc();
  }
}

ExportOutcome FileExporter::upload(const MatchingGroup& group, const ExportRun& run,
                                   ExportedFile file, double csv_seconds, UploadLease lease, int fd,
                                   StreamingUpload* streaming) {
  file.group_id = group.id;
  file.domain_id = group.domain_id;
  file.content_type = "application/gzip";
  const std::int64_t rows = file.rows;
  require_whole_claim_streamed(deps_.repository, group, run, rows);
  deps_.metrics.counter(meters::kCsvProcessed, group_labels(group)).inc(static_cast<double>(rows));
  deps_.metrics
      .histogram(meters::kGroupDuration,
                 {{"group_id", group.id.str()}, {"group_type", group.type_name}})
      .observe(csv_seconds);

  PutRequest put = put_request(group, run, file.local_path, fd, lease, file.rows);
  put.bytes = file.bytes;
  put.sha256 = file.sha256;
  put.metadata["sha256"] = file.sha256;
  StoredObject stored;
  try {
    stored = streaming != nullptr ? finish_upload(*streaming, put, run) : deps_.store.put(put);
  } catch (const Error&) {
    if (lease.keeper.lost(lease.index)) {
      // The request may have reached the store before it was stopped (a paused process's PUT
      // completes on the server while the client is stopped): never leave that object behind.
      discard_object(group, run, put.key, "its attempt lost the lease during the upload");
    }
    lease.keeper.check(lease.index);  // say "lease lost" rather than "cancelled"
    throw;
  }
  fault_point("after_upload");
  if (stored.bytes != file.bytes || (!stored.sha256.empty() && stored.sha256 != file.sha256)) {
    discard_object(group, run, put.key, "it does not match the staged file");
    throw Error(ErrorCode::kStorage,
                "the object store holds " + std::to_string(stored.bytes) + " bytes (SHA-256 " +
                    (stored.sha256.empty() ? "unknown" : stored.sha256) + ") under '" + put.key +
                    "' but the staged file had " + std::to_string(file.bytes) + " (SHA-256 " +
                    file.sha256 + "); not committing, the export retries",
                true);
  }
  if (lease.keeper.lost(lease.index)) {  // lost while uploading: this object is never committed
    discard_object(group, run, put.key, "its attempt lost the lease");
    lease.keeper.check(lease.index);
  }
  file.bucket = stored.bucket;
  file.object_key = stored.key;
  file.url = stored.url;
  // Signed now, just before the commit, so it expires presign_seconds after the run commits;
  // the message keeps it, and a replay carries the same URL (docs/FORMATS.md).
  if (auto link = deps_.store.download_url(stored.key)) file.download_url = std::move(*link);
  deps_.metrics.counter(meters::kBytesUploaded, group_labels(group))
      .inc(static_cast<double>(file.bytes));
  log::info("staged and uploaded", {{"run_id", run.run_id},
                                    {"group_id", group.id.str()},
                                    {"slot", format_iso8601(SystemTime{run.slot})},
                                    {"rows", file.rows},
                                    {"bytes", file.bytes},
                                    {"key", file.object_key},
                                    {"seconds", csv_seconds}});

  MessageContext ctx{run.run_id,
                     group.domain_id,
                     group.id,
                     GroupType::kCostBased,
                     run.slot,
                     deps_.clock.now(),
                     deps_.config.messages.topic};
  ExportOutcome outcome;
  outcome.rows = rows;
  outcome.messages.push_back(build_file_message(ctx, file));
  outcome.file = std::move(file);
  return outcome;
}

void FileExporter::discard_object(const MatchingGroup& group, const ExportRun& run,
                                  const std::string& key, const std::string& why) {
  try {
    deps_.store.remove(key);
    log::info("removed an object that will not be committed", {{"run_id", run.run_id},
                                                               {"group_id", group.id.str()},
                                                               {"attempt", run.attempts},
                                                               {"key", key},
                                                               {"reason", why}});
  } catch (const std::exception& e) {
    log::warn(
        "could not remove an object that will not be committed; it is garbage, never "
        "named by a message",
        {{"run_id", run.run_id},
         {"group_id", group.id.str()},
         {"key", key},
         {"reason", why},
         {"error", e.what()}});
  }
}

void FileExporter::remove_superseded_objects(const MatchingGroup& group, const ExportRun& run) {
  for (int attempt = 1; attempt < run.attempts; ++attempt) {
    discard_object(group, run,
                   object_key_for(deps_.store.key_prefix(), group.domain_id, group.id, run.slot,
                                  run.run_id, attempt),
                   "a later attempt of the run was committed");
  }
}

int FileExporter::abort_unfinished_uploads(const MatchingGroup& group, const ExportRun& run,
                                           int first, int last, const std::string& why) {
  int aborted = 0;
  for (int attempt = std::max(1, first); attempt <= last; ++attempt) {
    const std::string key = object_key_for(deps_.store.key_prefix(), group.domain_id, group.id,
                                           run.slot, run.run_id, attempt);
    try {
      const int n = deps_.store.abort_unfinished(key);
      aborted += n;
      if (n > 0) {
        log::info("aborted unfinished uploads of a run's key", {{"run_id", run.run_id},
                                                                {"group_id", group.id.str()},
                                                                {"attempt", attempt},
                                                                {"key", key},
                                                                {"count", n},
                                                                {"reason", why}});
      }
    } catch (const std::exception& e) {
      log::warn(
          "could not abort the unfinished uploads of a run's key; the start-up sweep "
          "tries again",
          {{"run_id", run.run_id},
           {"group_id", group.id.str()},
           {"key", key},
           {"reason", why},
           {"error", e.what()}});
    }
  }
  if (aborted > 0) {
    deps_.metrics.counter(meters::kUnfinishedUploadsAborted, {{"when", "run"}}).inc(aborted);
  }
  return aborted;
}

void FileExporter::after_commit(const MatchingGroup& group, const ExportRun& run,
                                const ExportedFile& file) {
  remove_superseded_objects(group, run);
  // A single PUT leaves no upload behind; one in parts may, if an abort of a failed try failed.
  const bool parts = file.bytes > static_cast<std::int64_t>(deps_.config.store.multipart_threshold);
  abort_unfinished_uploads(group, run, 1, parts ? run.attempts : run.attempts - 1,
                           "the run was committed");
}

}  // namespace user_export
