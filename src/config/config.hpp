#pragma once

// The configuration of the exporter and the service, one struct per TOML table: what
// config_loader.hpp reads from the file and the environment and checks, and what
// config_render.hpp prints back (secrets masked). config/example.toml documents every key.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace user_export {

/// How one CSV column's values are masked before they are written.
enum class MaskMode {
  kNone,     ///< written as stored
  kRedact,   ///< replaced by `[REDACTED]` (NULL stays empty)
  kPartial,  ///< emails `j***@example.com`; others keep first and last character: `+************8`
  kHash,     ///< hex HMAC-SHA-256 of the value keyed with USER_EXPORT_HASH_KEY
};

/// One column of the CSV: which source field, what header, how masked.
struct CsvColumn {
  std::string source;               ///< a field of the source query, e.g. `ref_id`, `email`, `city`
  std::string header;               ///< header text; defaults to `source`
  MaskMode mask = MaskMode::kNone;  ///< masking applied to every value of the column

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const CsvColumn&, const CsvColumn&) = default;
};

/// `[database]`
struct DatabaseConfig {
  std::string url;  ///< `sqlite:///abs/path.db` or `postgresql://…` (secret: may hold a password)
  int pool_size = 8;                                ///< most connections open (`pool_size`)
  std::chrono::milliseconds connect_timeout{5000};  ///< `connect_timeout_ms`

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const DatabaseConfig&, const DatabaseConfig&) = default;
};

/// `[store]` and `[store.s3]`
struct StoreConfig {
  std::string url;          ///< `file:///abs/dir` or `s3://bucket/prefix`
  std::string s3_endpoint;  ///< e.g. `http://127.0.0.1:9000`; empty = AWS for the region
  std::string s3_region = "us-east-1";  ///< signing region (`[store.s3] region`)
  bool s3_path_style = true;            ///< MinIO wants path-style addressing
  std::string access_key;               ///< from AWS_ACCESS_KEY_ID (secret)
  std::string secret_key;               ///< from AWS_SECRET_ACCESS_KEY (secret)
  bool verify_tls = true;               ///< verify the endpoint's TLS certificate
  std::string ca_bundle;                ///< CA file for TLS verification; empty = system default
  std::chrono::milliseconds connect_timeout{5000};   ///< `connect_timeout_ms`
  std::chrono::milliseconds request_timeout{60000};  ///< `request_timeout_ms`, per request
  std::uint64_t part_size = 8ull << 20;  ///< multipart part size in bytes, at least 5 MiB
  std::uint64_t multipart_threshold = 16ull << 20;  ///< files larger than this go multipart
  int parallel_parts = 2;                           ///< parts uploaded at the same time
  std::chrono::seconds abort_incomplete_after{0};   ///< 0 = do not clean up stale uploads
  /// `presign_seconds`: file messages carry a presigned GET URL of their object valid this
  /// long (at most 7 days, SigV4's limit); 0 = no URL.
  std::chrono::seconds presign{0};

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

/// `[messages]`: where messages go and their limits.
struct MessagesConfig {
  std::string file;                        ///< JSON-lines file, used when kafka_bootstrap is empty
  std::string topic = "flairbit-users";    ///< topic of export messages
  std::string dlq_topic = "flairbit-dlq";  ///< dead-letter topic
  std::size_t max_message_bytes = 1'000'000;  ///< largest message; id lists are split below it
  std::chrono::milliseconds delivery_timeout{30000};  ///< `delivery_timeout_ms`

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const MessagesConfig&, const MessagesConfig&) = default;
};

/// `[kafka]`: passed through to librdkafka.
struct KafkaConfig {
  std::string bootstrap;                  ///< empty = no Kafka, use the JSON-lines file
  std::string client_id = "user-export";  ///< librdkafka `client.id`
  std::string compression = "zstd";       ///< none, gzip, snappy, lz4 or zstd
  std::string security_protocol;          ///< e.g. SASL_SSL; empty = plaintext
  std::string sasl_mechanism;             ///< e.g. SCRAM-SHA-512; empty = none
  std::string sasl_username;              ///< SASL user name
  std::string sasl_password;              ///< secret (USER_EXPORT_KAFKA_SASL_PASSWORD)
  std::string ssl_ca_location;            ///< CA file for the broker's certificate
  std::map<std::string, std::string>
      extra;  ///< any other librdkafka property (`[kafka.properties]`)
  double rate_limit_messages_per_second = 0;  ///< 0 = unlimited
  double rate_limit_bytes_per_second = 0;     ///< 0 = unlimited
  int circuit_failure_threshold = 5;          ///< consecutive failures that open the circuit
  std::chrono::milliseconds circuit_cool_down{30000};  ///< `circuit_cool_down_ms`

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const KafkaConfig&, const KafkaConfig&) = default;
};

/// `[csv]`
struct CsvConfig {
  std::vector<CsvColumn> columns;  ///< default: ref_id, username, email, phone, profile fields
  bool header = true;              ///< write a header row
  std::string line_ending = "\n";  ///< `\n` or `\r\n`
  bool formula_guard = false;  ///< prefix cells starting with = + - @ with a single quote (opt-in:
                               ///< it changes values, e.g. phone numbers that start with +)
  bool schema_version_column = false;  ///< add a `schema_version` column
  int gzip_level = 1;  ///< ISA-L level 0..3 (1: ~3.5x faster than gzip -6, files ~17% larger)

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const CsvConfig&, const CsvConfig&) = default;
};

/// `[retry]`: attempts of one group's export, with exponential back-off and jitter.
struct RetryConfig {
  int max_attempts = 3;                            ///< attempts in total, the first included
  std::chrono::milliseconds initial_backoff{100};  ///< delay before the second attempt
  double multiplier = 3.0;                         ///< each delay is the previous one times this
  std::chrono::milliseconds max_backoff{10000};    ///< upper bound of one delay
  double jitter = 0.2;                             ///< +/- fraction of each delay

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const RetryConfig&, const RetryConfig&) = default;
};

/// `[export]`: the run itself.
struct ExportConfig {
  std::string domain_id;  ///< the domain whose groups are exported (canonical lower-case UUID)
  bool mark_sent = true;  ///< mark exported users sent_to_matching_service = true
  /// PostgreSQL: mark the users of a group exported alone in a transaction begun while its rows
  /// are streamed, and committed with the run (docs/ARCHITECTURE.md, "Marking while streaming")
  bool mark_while_streaming = true;
  int max_parallel_groups = 4;  ///< worker threads
  int queue_capacity = 1024;    ///< groups waiting for a worker
  std::string staging_dir;      ///< private 0700 dir for staged files; default: under the temp dir
  std::string instance_id;      ///< lease owner name; default: default_instance_id()
  std::chrono::seconds lease{300};  ///< `lease_seconds`: how long a run's lease lasts
  /// Small cost-based groups are exported in batches of up to this many groups, with one
  /// claim, one stream and one commit for the batch (PostgreSQL only); 1 = one group at a time.
  int batch_max_groups = 250;
  /// A group with more unsent users than this is never batched: it is exported on its own.
  std::int64_t batch_max_group_users = 10'000;

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const ExportConfig&, const ExportConfig&) = default;
};

/// `[schedule]`
struct ScheduleConfig {
  std::string cron = "0 59 20 * * *";      ///< Spring's six fields: sec min hour day month weekday
  std::string time_zone = "Asia/Kolkata";  ///< IANA zone the cron expression is read in
  std::chrono::seconds missed_slot_grace{3600};  ///< a slot missed by less than this still runs
  /// `sweep_interval_seconds`: how often `run` re-runs the last fired slot to take over runs of
  /// dead instances; 0 = half the lease.
  std::chrono::seconds sweep_interval{0};
  /// Hold a slot while the consumer group's lag on the topic exceeds this; 0 = never.
  std::int64_t max_consumer_lag = 0;
  std::string consumer_group;  ///< the downstream consumer group whose lag is read

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const ScheduleConfig&, const ScheduleConfig&) = default;
};

/// `[admin]`
struct AdminConfig {
  std::string addr = "127.0.0.1:8080";  ///< `host:port` of the admin HTTP endpoint
  std::string token;                    ///< USER_EXPORT_ADMIN_TOKEN (secret)

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

/// `[service]`: the long-running `run` command.
struct ServiceConfig {
  /// `shutdown_timeout_seconds`: how long in-flight groups may finish after SIGTERM/SIGINT.
  std::chrono::seconds shutdown_timeout{30};
  /// `verify_after_slot`: once a slot's messages are delivered, reconcile its runs as
  /// `user-export verify` does and count each failure (docs/SERVICE.md).
  bool verify_after_slot = false;

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

/// `[retention]`: how long finished history (runs, their claims, delivered messages) is kept.
struct RetentionConfig {
  /// `days`: `prune` and the service's daily prune delete finished history older than this.
  int days = 30;

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const RetentionConfig&, const RetentionConfig&) = default;
};

/// `[log]`
struct LogConfig {
  std::string level = "info";  ///< trace, debug, info, warn, error
  bool json = false;           ///< one JSON object per log line instead of text

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

/// The whole effective configuration: the TOML file with the environment applied on top.
struct Config {
  std::string source_path;    ///< the file it was read from ("" when built in code)
  DatabaseConfig database;    ///< `[database]`
  StoreConfig store;          ///< `[store]`, `[store.s3]`
  MessagesConfig messages;    ///< `[messages]`
  KafkaConfig kafka;          ///< `[kafka]`, `[kafka.properties]`
  CsvConfig csv;              ///< `[csv]`, `[[csv.columns]]`
  RetryConfig retry;          ///< `[retry]`
  ExportConfig export_;       ///< `[export]`
  ScheduleConfig schedule;    ///< `[schedule]`
  AdminConfig admin;          ///< `[admin]`
  ServiceConfig service;      ///< `[service]`
  RetentionConfig retention;  ///< `[retention]`
  LogConfig log;              ///< `[log]`
  std::string hash_key;       ///< USER_EXPORT_HASH_KEY (secret); required when a column uses `hash`

  /// Member-wise equality (used to compare loaded configurations).
  friend bool operator==(const Config&, const Config&) = default;
};

/// Parses a mask mode as written in the config: `none`, `redact`, `partial`, `hash`; nullopt
/// for anything else.
std::optional<MaskMode> parse_mask_mode(std::string_view text);
/// The config name of a mode.
const char* to_string(MaskMode mode);

/// The default CSV columns, in order: ref_id, username, email, phone, created_at, display_name,
/// gender, date_of_birth, city, bio, interests.
std::vector<CsvColumn> default_csv_columns();

}  // namespace user_export
