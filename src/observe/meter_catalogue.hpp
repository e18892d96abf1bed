#pragma once

#include <array>
#include <span>

namespace user_export {

/// What a meter is on /metrics (`# TYPE`).
enum class MeterType { kCounter, kGauge, kHistogram };

/// One meter of the process: everything about it that is the same for every series. Each meter
/// is written once, in `meters::` below, and registered through `Metrics::counter`,
/// `Metrics::gauge` or `Metrics::histogram` with its spec, which check the type and label names.
struct MeterSpec {
  const char* name;  ///< the metric name (counters end in `_total`, timers in `_seconds`)
  MeterType type;    ///< counter, gauge or histogram
  const char* help;  ///< the `# HELP` text
  /// The label names every series of the meter carries, in the order they are documented.
  std::span<const char* const> labels = {};
  /// Histograms only: the finite bucket upper bounds; empty for `default_time_buckets()`.
  std::span<const double> bounds = {};
};

/// The catalogue: every meter the process registers, one constant each. docs/OBSERVABILITY.md
/// documents each one ("Metrics"); a unit test keeps the two in step.
namespace meters {

/// Label-name lists of the meters below.
namespace label_names {
inline constexpr const char* kGroup[] = {"group_id"};
inline constexpr const char* kGroupAndType[] = {"group_id", "group_type"};
inline constexpr const char* kTopic[] = {"topic"};
inline constexpr const char* kTopicAndResult[] = {"topic", "result"};
inline constexpr const char* kKeyAndTopic[] = {"key", "topic"};
inline constexpr const char* kVersion[] = {"version"};
inline constexpr const char* kName[] = {"name"};
inline constexpr const char* kOutcome[] = {"outcome"};
inline constexpr const char* kKind[] = {"kind"};
inline constexpr const char* kTable[] = {"table"};
inline constexpr const char* kWhat[] = {"what"};
inline constexpr const char* kWhen[] = {"when"};
}  // namespace label_names

/// Bucket bounds of the histograms that do not use `default_time_buckets()`.
namespace bounds {
/// Kafka delivery reports, in seconds: 1 ms … 60 s.
inline constexpr double kKafkaDelivery[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60};
}  // namespace bounds

// ---- the spec's meters (docs/OBSERVABILITY.md, "The spec's meters") ---------------------------

/// One group export, claim to commit, retries included.
inline constexpr MeterSpec kExportDuration{.name = "users_export_duration_seconds",
                                           .type = MeterType::kHistogram,
                                           .help = "End-to-end time of one group export",
                                           .labels = label_names::kGroupAndType};
/// Group exports that failed after all retries.
inline constexpr MeterSpec kExportFailures{.name = "users_export_failures_total",
                                           .type = MeterType::kCounter,
                                           .help = "Group exports that failed after all retries",
                                           .labels = label_names::kGroupAndType};
/// Failed export attempts; each failed retry counts.
inline constexpr MeterSpec kBatchFailures{.name = "users_export_batch_failures_total",
                                          .type = MeterType::kCounter,
                                          .help = "Failed export attempts",
                                          .labels = label_names::kGroup};
/// Rows exported and committed.
inline constexpr MeterSpec kBatchProcessed{.name = "users_export_batch_processed_total",
                                           .type = MeterType::kCounter,
                                           .help = "Rows exported and committed",
                                           .labels = label_names::kGroup};
/// One successful export attempt.
inline constexpr MeterSpec kBatchDuration{
    .name = "users_export_batch_duration_seconds",
    .type = MeterType::kHistogram,
    .help = "Time of one export attempt (CSV, upload, commit)",
    .labels = label_names::kGroup};
/// Groups whose `group_type` is unknown.
inline constexpr MeterSpec kInvalidGroupType{.name = "users_export_invalid_group_type_total",
                                             .type = MeterType::kCounter,
                                             .help = "Groups with an unknown group type",
                                             .labels = label_names::kGroupAndType};
/// Rows written to CSV files.
inline constexpr MeterSpec kCsvProcessed{.name = "users_export_csv_processed_total",
                                         .type = MeterType::kCounter,
                                         .help = "Rows written to CSV exports",
                                         .labels = label_names::kGroup};
/// CSV write failures (I/O, configuration).
inline constexpr MeterSpec kCsvFailures{.name = "users_export_csv_failures_total",
                                        .type = MeterType::kCounter,
                                        .help = "Failures while writing the CSV export",
                                        .labels = label_names::kGroup};
/// Streaming and staging a group's CSV only.
inline constexpr MeterSpec kGroupDuration{
    .name = "users_export_group_duration_seconds",
    .type = MeterType::kHistogram,
    .help = "Time to stream and stage a group's CSV (excluding upload and messages)",
    .labels = label_names::kGroupAndType};
/// Messages sent to the dead-letter topic (the spec's name, without our prefix).
inline constexpr MeterSpec kExportToDlq{.name = "export_to_dlq_total",
                                        .type = MeterType::kCounter,
                                        .help = "Messages sent to the dead-letter topic",
                                        .labels = label_names::kKeyAndTopic};

// ---- ours (docs/OBSERVABILITY.md, "Ours") -----------------------------------------------------

/// Always 1; names the running build.
inline constexpr MeterSpec kBuildInfo{.name = "users_export_build_info",
                                      .type = MeterType::kGauge,
                                      .help = "Always 1; the version label names the running build",
                                      .labels = label_names::kVersion};
/// Outbox messages not yet delivered, after the last relay pass.
inline constexpr MeterSpec kOutboxPending{.name = "users_export_outbox_pending",
                                          .type = MeterType::kGauge,
                                          .help = "Outbox messages not yet delivered"};
/// The circuit breaker around message sends.
inline constexpr MeterSpec kCircuitBreakerState{
    .name = "users_export_circuit_breaker_state",
    .type = MeterType::kGauge,
    .help = "Circuit breaker around message sends: 0 closed, 1 open, 2 half-open",
    .labels = label_names::kName};
/// 1 while the scheduler holds slots, by hand or because of consumer lag.
inline constexpr MeterSpec kSchedulerPaused{
    .name = "users_export_scheduler_paused",
    .type = MeterType::kGauge,
    .help =
        "1 while the scheduler holds slots (paused by hand or because the consumer lag is "
        "above the threshold), else 0"};
/// Unix time of a group's last successful export by this process.
inline constexpr MeterSpec kLastSuccessTimestamp{
    .name = "users_export_last_success_timestamp_seconds",
    .type = MeterType::kGauge,
    .help = "Unix time of the group's last successful export",
    .labels = label_names::kGroup};
/// Compressed bytes uploaded.
inline constexpr MeterSpec kBytesUploaded{.name = "users_export_bytes_uploaded_total",
                                          .type = MeterType::kCounter,
                                          .help = "Compressed bytes uploaded to the object store",
                                          .labels = label_names::kGroup};
/// Users marked sent by a commit.
inline constexpr MeterSpec kRowsMarked{.name = "users_export_rows_marked_total",
                                       .type = MeterType::kCounter,
                                       .help = "Users marked sent_to_matching_service by a commit",
                                       .labels = label_names::kGroup};
/// Retried export attempts.
inline constexpr MeterSpec kRetries{.name = "users_export_retries_total",
                                    .type = MeterType::kCounter,
                                    .help = "Retried export attempts",
                                    .labels = label_names::kGroup};
/// Group exports skipped because the run is someone else's.
inline constexpr MeterSpec kGroupsSkipped{
    .name = "users_export_groups_skipped_total",
    .type = MeterType::kCounter,
    .help = "Group exports skipped because another instance owns the run",
    .labels = label_names::kGroup};
/// Groups claimed in a batch of small groups, by outcome (`committed`, `fell_back`).
inline constexpr MeterSpec kBatchedGroups{
    .name = "users_export_batched_groups_total",
    .type = MeterType::kCounter,
    .help =
        "Groups claimed in a batch of small groups, by outcome: committed in the batch, or "
        "fell_back to an export of their own",
    .labels = label_names::kOutcome};
/// Runs whose users were marked during their stream (PostgreSQL), by outcome (`committed`,
/// `fell_back`).
inline constexpr MeterSpec kMarkedWhileStreaming{
    .name = "users_export_marked_while_streaming_total",
    .type = MeterType::kCounter,
    .help =
        "Runs whose users were marked in a transaction begun with their stream, by outcome: "
        "committed with the run, or fell_back to marking in the commit",
    .labels = label_names::kOutcome};
/// Messages the broker confirmed.
inline constexpr MeterSpec kMessagesPublished{.name = "users_export_messages_published_total",
                                              .type = MeterType::kCounter,
                                              .help = "Messages delivered to the broker",
                                              .labels = label_names::kTopic};
/// Retriable delivery failures.
inline constexpr MeterSpec kPublishFailures{.name = "users_export_publish_failures_total",
                                            .type = MeterType::kCounter,
                                            .help = "Retriable delivery failures",
                                            .labels = label_names::kTopic};
/// Schedule slots the service started, by why.
inline constexpr MeterSpec kSchedulerSlots{.name = "users_export_scheduler_slots_total",
                                           .type = MeterType::kCounter,
                                           .help = "Slots run by the scheduler, by why they ran",
                                           .labels = label_names::kKind};
/// Rows of finished history deleted by retention, by table.
inline constexpr MeterSpec kPrunedRows{
    .name = "users_export_pruned_rows_total",
    .type = MeterType::kCounter,
    .help = "Rows of finished history deleted by retention, by table",
    .labels = label_names::kTable};
/// What the start-up clean-ups removed, by `what` (unfinished_uploads, objects, failures;
/// staged_files from the staging directory).
inline constexpr MeterSpec kSweep{
    .name = "users_export_sweep_total",
    .type = MeterType::kCounter,
    .help = "What the start-up sweep removed of what dead processes left, by kind",
    .labels = label_names::kWhat};
/// Unfinished uploads of a run's keys aborted while exporting.
inline constexpr MeterSpec kUnfinishedUploadsAborted{
    .name = "users_export_unfinished_uploads_aborted_total",
    .type = MeterType::kCounter,
    .help =
        "Unfinished uploads (multipart uploads, temporary files) of dead or fenced attempts "
        "aborted, by when",
    .labels = label_names::kWhen};
/// Finished runs that failed verification.
inline constexpr MeterSpec kVerifyFailures{
    .name = "users_export_verify_failures_total",
    .type = MeterType::kCounter,
    .help =
        "Finished runs whose verification found a difference (object, rows, marks or delivery)"};

// ---- Kafka producer (docs/OBSERVABILITY.md, `users_export_kafka_*`) ---------------------------

/// Producers replaced after a fatal idempotent-producer error.
inline constexpr MeterSpec kKafkaProducerRestarts{
    .name = "users_export_kafka_producer_restarts_total",
    .type = MeterType::kCounter,
    .help = "Kafka producers replaced after a fatal idempotent-producer error"};
/// Time from producing a message to its delivery report.
inline constexpr MeterSpec kKafkaDelivery{
    .name = "users_export_kafka_delivery_seconds",
    .type = MeterType::kHistogram,
    .help = "Time from handing a message to the Kafka producer to its delivery report",
    .labels = label_names::kTopic,
    .bounds = bounds::kKafkaDelivery};
/// Messages by topic and delivery result.
inline constexpr MeterSpec kKafkaMessages{
    .name = "users_export_kafka_messages_total",
    .type = MeterType::kCounter,
    .help = "Kafka messages by topic and delivery result (delivered, retriable, fatal)",
    .labels = label_names::kTopicAndResult};

// ---- S3 store (docs/OBSERVABILITY.md, `users_export_s3_*`) ------------------------------------

/// Objects uploaded.
inline constexpr MeterSpec kS3Uploads{.name = "users_export_s3_uploads_total",
                                      .type = MeterType::kCounter,
                                      .help = "Objects uploaded to S3 successfully"};
/// Bytes of the objects uploaded.
inline constexpr MeterSpec kS3UploadBytes{.name = "users_export_s3_upload_bytes_total",
                                          .type = MeterType::kCounter,
                                          .help = "Bytes of objects uploaded to S3 successfully"};
/// Requests retried.
inline constexpr MeterSpec kS3Retries{.name = "users_export_s3_retries_total",
                                      .type = MeterType::kCounter,
                                      .help = "S3 requests retried after a transient failure"};
/// Uploads and bucket checks that failed after their retries.
inline constexpr MeterSpec kS3Failures{
    .name = "users_export_s3_failures_total",
    .type = MeterType::kCounter,
    .help = "S3 uploads and bucket checks that failed after their retries"};
/// Multipart uploads aborted.
inline constexpr MeterSpec kS3AbortedUploads{
    .name = "users_export_s3_aborted_uploads_total",
    .type = MeterType::kCounter,
    .help = "Multipart uploads aborted (failed, cancelled or stale)"};
/// Multipart uploads whose abort failed.
inline constexpr MeterSpec kS3AbortFailures{
    .name = "users_export_s3_abort_failures_total",
    .type = MeterType::kCounter,
    .help = "Multipart uploads that could not be aborted (their parts stay on the server)"};
/// Successful uploads' duration.
inline constexpr MeterSpec kS3UploadDuration{.name = "users_export_s3_upload_duration_seconds",
                                             .type = MeterType::kHistogram,
                                             .help = "Duration of successful S3 uploads"};

/// Every meter above, in the order of docs/OBSERVABILITY.md.
inline constexpr auto kAll = std::to_array<const MeterSpec*>({
    &kExportDuration,
    &kExportFailures,
    &kBatchFailures,
    &kBatchProcessed,
    &kBatchDuration,
    &kInvalidGroupType,
    &kCsvProcessed,
    &kCsvFailures,
    &kGroupDuration,
    &kExportToDlq,
    &kBuildInfo,
    &kOutboxPending,
    &kCircuitBreakerState,
    &kSchedulerPaused,
    &kLastSuccessTimestamp,
    &kBytesUploaded,
    &kRowsMarked,
    &kRetries,
    &kGroupsSkipped,
    &kBatchedGroups,
    &kMarkedWhileStreaming,
    &kMessagesPublished,
    &kPublishFailures,
    &kSchedulerSlots,
    &kPrunedRows,
    &kSweep,
    &kUnfinishedUploadsAborted,
    &kVerifyFailures,
    &kKafkaProducerRestarts,
    &kKafkaDelivery,
    &kKafkaMessages,
    &kS3Uploads,
    &kS3UploadBytes,
    &kS3Retries,
    &kS3Failures,
    &kS3AbortedUploads,
    &kS3AbortFailures,
    &kS3UploadDuration,
});

}  // namespace meters
}  // namespace user_export
