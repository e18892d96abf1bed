#include "exporter/file_exporter.hpp"

#include <system_error>

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "exporter/lease_keeper.hpp"
#include "format/csv_writer.hpp"
#include "format/gzip_file_sink.hpp"
#include "observe/log.hpp"

namespace user_export {
namespace {

/// Feeds streamed rows to the CSV writer and keeps the lease alive.
class CsvRowHandler final : public RowHandler {
 public:
  CsvRowHandler(CsvWriter& writer, LeaseKeeper& lease) : writer_(writer), lease_(lease) {}
  void on_row(RowView row) override {
    writer_.write_row(row);
    if ((++rows_ & 0x3ff) == 0) lease_.tick();
  }

 private:
  CsvWriter& writer_;
  LeaseKeeper& lease_;
  std::uint64_t rows_ = 0;
};

/// Removes the staged file when the attempt ends, whatever happened.
class StagedFileGuard {
 public:
  explicit StagedFileGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~StagedFileGuard() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  StagedFileGuard(const StagedFileGuard&) = delete;
  StagedFileGuard& operator=(const StagedFileGuard&) = delete;

 private:
  std::filesystem::path path_;
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

ExportOutcome FileExporter::export_run(const MatchingGroup& group, const ExportRun& run) {
  const auto started = deps_.clock.monotonic();
  const auto path = deps_.staging.file_for(run.run_id);
  {
    std::error_code ec;  // a crashed earlier attempt of this run may have left its file
    std::filesystem::remove(path, ec);
  }
  StagedFileGuard guard(path);
  ExportedFile file;
  file.local_path = path;
  file.group_id = group.id;
  file.domain_id = group.domain_id;
  file.content_type = "application/gzip";

  // Stream: rows -> CSV -> gzip -> staged file, digest computed on the way.
  std::int64_t rows = 0;
  try {
    GzipFileSink sink(path, deps_.config.csv.gzip_level);
    CsvWriter writer(deps_.config.csv, Masker(masks_, deps_.config.hash_key), sink);
    writer.write_header();
    LeaseKeeper lease(deps_.repository, deps_.clock, run.run_id, deps_.owner,
                      deps_.config.export_.lease, deps_.cancel);
    CsvRowHandler handler(writer, lease);
    deps_.repository.stream_rows(run.run_id, fields_, handler);
    lease.tick();  // a shutdown during the stream stops here, before the upload
    writer.flush();
    FileDigest digest = sink.finish();
    rows = writer.rows();
    file.rows = rows;
    file.bytes = digest.bytes;
    file.sha256 = digest.sha256;
    fault_point("after_stage");
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kConfig) {
      deps_.metrics
          .counter("users_export_csv_failures_total", "Failures while writing the CSV export",
                   group_labels(group))
          .inc();
    }
    throw;
  }
  if (rows != run.item_count) {
    // Every claimed user is streamed exactly once; anything else means the claim changed under
    // us (a bug or a manual edit). Committing would mark users that are not in the file.
    throw Error(ErrorCode::kInternal, "run " + run.run_id + " claimed " +
                                          std::to_string(run.item_count) + " users but streamed " +
                                          std::to_string(rows) + "; not committing");
  }
  const double csv_seconds =
      std::chrono::duration<double>(deps_.clock.monotonic() - started).count();
  deps_.metrics
      .counter("users_export_csv_processed_total", "Rows written to CSV exports",
               group_labels(group))
      .inc(static_cast<double>(rows));
  deps_.metrics
      .histogram("users_export_group_duration_seconds",
                 "Time to stream and stage a group's CSV (excluding upload and messages)",
                 {{"group_id", group.id.str()}, {"group_type", group.type_name}})
      .observe(csv_seconds);

  // Upload under the run's deterministic key: a retried run overwrites, never duplicates.
  PutRequest put;
  put.key =
      object_key_for(deps_.store.key_prefix(), group.domain_id, group.id, run.slot, run.run_id);
  put.file = path;
  put.content_type = file.content_type;
  put.cancel = deps_.cancel;  // a shutdown interrupts the upload, the claim is kept
  put.metadata = {{"schema-version", kSchemaVersion},
                  {"row-count", std::to_string(file.rows)},
                  {"sha256", file.sha256},
                  {"run-id", run.run_id}};
  StoredObject stored = deps_.store.put(put);
  fault_point("after_upload");
  file.bucket = stored.bucket;
  file.object_key = stored.key;
  file.url = stored.url;
  deps_.metrics
      .counter("users_export_bytes_uploaded_total", "Compressed bytes uploaded to the object store",
               group_labels(group))
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

}  // namespace user_export
