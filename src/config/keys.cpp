#include "config/keys.hpp"

#include <chrono>
#include <type_traits>
#include <vector>

#include "config/redact.hpp"

namespace user_export::config_detail {
namespace {

using enum KeyKind;

constexpr std::int64_t kOneYearSeconds = 365LL * 24 * 3600;
constexpr std::int64_t kSevenDaysSeconds = 7LL * 24 * 3600;

/// The member reached from a Config through the member pointers `Path`.
template <auto... Path>
constexpr auto& member(auto& config) {
  return (config.*....*Path);
}

template <typename T, auto... Path>
constexpr KeyField access() {
  return FieldAccess<T>{[](Config& c) -> T& { return member<Path...>(c); },
                        [](const Config& c) -> const T& { return member<Path...>(c); }};
}

template <auto... Path>
constexpr KeyField text() {
  return access<std::string, Path...>();
}

template <auto... Path>
constexpr KeyField flag() {
  return access<bool, Path...>();
}

template <auto... Path>
constexpr KeyField real() {
  return access<double, Path...>();
}

/// A whole number of the member's own integer type.
template <auto... Path>
constexpr KeyField whole() {
  return IntegerAccess{
      [](const Config& c) { return static_cast<std::int64_t>(member<Path...>(c)); },
      [](Config& c, std::int64_t value) {
        auto& field = member<Path...>(c);
        field = static_cast<std::remove_reference_t<decltype(field)>>(value);
      }};
}

template <auto... Path>
constexpr KeyField millis() {
  return IntegerAccess{
      [](const Config& c) { return static_cast<std::int64_t>(member<Path...>(c).count()); },
      [](Config& c, std::int64_t value) { member<Path...>(c) = std::chrono::milliseconds(value); }};
}

/// A duration written in units of `Unit` seconds (1 = seconds, 3600 = hours).
template <std::int64_t Unit, auto... Path>
constexpr KeyField seconds() {
  return IntegerAccess{
      [](const Config& c) { return static_cast<std::int64_t>(member<Path...>(c).count() / Unit); },
      [](Config& c, std::int64_t value) {
        member<Path...>(c) = std::chrono::seconds(value * Unit);
      }};
}

template <auto... Path>
constexpr KeyField mebibytes() {
  return IntegerAccess{
      [](const Config& c) { return static_cast<std::int64_t>(member<Path...>(c) >> 20); },
      [](Config& c, std::int64_t value) {
        member<Path...>(c) = static_cast<std::uint64_t>(value) << 20;
      }};
}

constexpr IntegerRange millis_range(std::int64_t min) {
  return {min, kOneYearSeconds * 1000, "at most one year"};
}

constexpr IntegerRange seconds_range(std::int64_t min, std::int64_t unit,
                                     std::string_view why = "at most one year") {
  return {min, kOneYearSeconds / unit, why};
}

std::string shown_access_key(std::string_view key) {
  return redact_access_key(key);
}

std::string shown_url(std::string_view url) {
  return redact_url_password(url);
}

using C = Config;

std::vector<KeyDecl> export_and_database_keys() {
  using E = ExportConfig;
  using D = DatabaseConfig;
  return {
      {.name = "hash_key",
       .field = text<&C::hash_key>(),
       .variable = "USER_EXPORT_HASH_KEY",
       .secret = true,
       .help = "key of the `hash` masking mode (HMAC-SHA-256)"},
      {.table = "export",
       .name = "domain_id",
       .field = text<&C::export_, &E::domain_id>(),
       .variable = "USER_EXPORT_DOMAIN_ID",
       .help = "the domain whose groups are exported (a UUID)"},
      {.table = "export",
       .name = "mark_sent",
       .kind = kFlag,
       .field = flag<&C::export_, &E::mark_sent>(),
       .help = "mark exported users sent_to_matching_service = true"},
      {.table = "export",
       .name = "mark_while_streaming",
       .kind = kFlag,
       .field = flag<&C::export_, &E::mark_while_streaming>(),
       .help = "PostgreSQL: mark a group exported alone while its rows are streamed"},
      {.table = "export",
       .name = "max_parallel_groups",
       .kind = kInteger,
       .field = whole<&C::export_, &E::max_parallel_groups>(),
       .integers = {1, 1024},
       .help = "groups exported at the same time (worker threads)"},
      {.table = "export",
       .name = "queue_capacity",
       .kind = kInteger,
       .field = whole<&C::export_, &E::queue_capacity>(),
       .integers = {1, 1'000'000},
       .help = "groups waiting for a worker before new ones are refused"},
      {.table = "export",
       .name = "staging_dir",
       .field = text<&C::export_, &E::staging_dir>(),
       .help = "private directory where files are staged before upload"},
      {.table = "export",
       .name = "instance_id",
       .field = text<&C::export_, &E::instance_id>(),
       .help = "name of this instance in run leases"},
      {.table = "export",
       .name = "lease_seconds",
       .kind = kSeconds,
       .field = seconds<1, &C::export_, &E::lease>(),
       .integers = seconds_range(1, 1),
       .help = "how long a run's lease lasts without a heartbeat"},
      {.table = "export",
       .name = "batch_max_groups",
       .kind = kInteger,
       .field = whole<&C::export_, &E::batch_max_groups>(),
       .integers = {1, 100'000},
       .help = "most small groups exported in one batch; 1 = one group at a time"},
      {.table = "export",
       .name = "batch_max_group_users",
       .kind = kInteger,
       .field = whole<&C::export_, &E::batch_max_group_users>(),
       .integers = {1, 100'000'000},
       .help = "a group with more unsent users than this is never batched"},
      {.table = "database",
       .name = "url",
       .field = text<&C::database, &D::url>(),
       .variable = "USER_EXPORT_DATABASE_URL",
       .shown = shown_url,
       .help = "sqlite:///absolute/path.db or postgresql://user@host:5432/db"},
      {.table = "database",
       .name = "pool_size",
       .kind = kInteger,
       .field = whole<&C::database, &D::pool_size>(),
       .integers = {1, 1000},
       .help = "most PostgreSQL connections this process opens"},
      {.table = "database",
       .name = "connect_timeout_ms",
       .kind = kMilliseconds,
       .field = millis<&C::database, &D::connect_timeout>(),
       .integers = millis_range(1),
       .help = "time allowed to connect"},
  };
}

std::vector<KeyDecl> store_keys() {
  using S = StoreConfig;
  return {
      {.table = "store",
       .name = "url",
       .field = text<&C::store, &S::url>(),
       .variable = "USER_EXPORT_STORE_URL",
       .help = "where exported files go: file:///absolute/dir or s3://bucket/prefix"},
      {.table = "store.s3",
       .name = "endpoint",
       .field = text<&C::store, &S::s3_endpoint>(),
       .variable = "USER_EXPORT_S3_ENDPOINT",
       .help = "S3 endpoint URL; empty = AWS for the region"},
      {.table = "store.s3",
       .name = "region",
       .field = text<&C::store, &S::s3_region>(),
       .variable = "USER_EXPORT_S3_REGION",
       .help = "signing region"},
      {.table = "store.s3",
       .name = "path_style",
       .kind = kFlag,
       .field = flag<&C::store, &S::s3_path_style>(),
       .help = "path-style addressing (MinIO); false = virtual-hosted style"},
      {.table = "store.s3",
       .name = "verify_tls",
       .kind = kFlag,
       .field = flag<&C::store, &S::verify_tls>(),
       .help = "verify the endpoint's TLS certificate"},
      {.table = "store.s3",
       .name = "ca_bundle",
       .field = text<&C::store, &S::ca_bundle>(),
       .help = "CA file for TLS verification; empty = the system's CAs"},
      {.table = "store.s3",
       .name = "connect_timeout_ms",
       .kind = kMilliseconds,
       .field = millis<&C::store, &S::connect_timeout>(),
       .integers = millis_range(1),
       .help = "time allowed to connect"},
      {.table = "store.s3",
       .name = "request_timeout_ms",
       .kind = kMilliseconds,
       .field = millis<&C::store, &S::request_timeout>(),
       .integers = millis_range(1),
       .help = "time allowed for one request"},
      {.table = "store.s3",
       .name = "part_size_mib",
       .kind = kMebibytes,
       .field = mebibytes<&C::store, &S::part_size>(),
       .integers = {5, 5 * 1024, "S3 parts are at least 5 MiB and at most 5 GiB"},
       .help = "size of each part of a multipart upload"},
      {.table = "store.s3",
       .name = "multipart_threshold_mib",
       .kind = kMebibytes,
       .field = mebibytes<&C::store, &S::multipart_threshold>(),
       .integers = {0, 5 * 1024 * 1024, "S3 objects are at most 5 TiB"},
       .help = "files larger than this are uploaded in parts"},
      {.table = "store.s3",
       .name = "parallel_parts",
       .kind = kInteger,
       .field = whole<&C::store, &S::parallel_parts>(),
       .integers = {1, 64},
       .help = "parts uploaded at the same time"},
      {.table = "store.s3",
       .name = "abort_incomplete_after_hours",
       .kind = kSeconds,
       .field = seconds<3600, &C::store, &S::abort_incomplete_after>(),
       .integers = seconds_range(0, 3600, "0 turns the clean-up off"),
       .help = "abort unfinished multipart uploads older than this; 0 = never"},
      {.table = "store.s3",
       .name = "presign_seconds",
       .kind = kSeconds,
       .field = seconds<1, &C::store, &S::presign>(),
       .integers = {0, kSevenDaysSeconds,
                    "SigV4 signs a URL for at most 7 days; 0 turns presigned URLs off"},
       .help = "lifetime of the presigned download URL in file messages; 0 = no URL"},
      {.table = "store.s3",
       .name = "access_key",
       .field = text<&C::store, &S::access_key>(),
       .variable = "AWS_ACCESS_KEY_ID",
       .secret = true,
       .shown = shown_access_key,
       .help = "object store access key id"},
      {.table = "store.s3",
       .name = "secret_key",
       .field = text<&C::store, &S::secret_key>(),
       .variable = "AWS_SECRET_ACCESS_KEY",
       .secret = true,
       .help = "object store secret key"},
  };
}

std::vector<KeyDecl> messages_keys() {
  using M = MessagesConfig;
  return {
      {.table = "messages",
       .name = "file",
       .field = text<&C::messages, &M::file>(),
       .variable = "USER_EXPORT_MESSAGES_FILE",
       .help = "JSON-lines file that receives the messages when kafka.bootstrap is empty"},
      {.table = "messages",
       .name = "topic",
       .field = text<&C::messages, &M::topic>(),
       .help = "topic of the export messages"},
      {.table = "messages",
       .name = "dlq_topic",
       .field = text<&C::messages, &M::dlq_topic>(),
       .help = "dead-letter topic"},
      {.table = "messages",
       .name = "max_message_bytes",
       .kind = kInteger,
       .field = whole<&C::messages, &M::max_message_bytes>(),
       .integers = {1024, 1'000'000'000,
                    "id lists are split to stay below it, so it must hold at least one id"},
       .help = "largest message in bytes; id lists are split below it"},
      {.table = "messages",
       .name = "delivery_timeout_ms",
       .kind = kMilliseconds,
       .field = millis<&C::messages, &M::delivery_timeout>(),
       .integers = millis_range(1),
       .help = "time allowed for the broker to confirm a delivery"},
  };
}

std::vector<KeyDecl> kafka_keys() {
  using K = KafkaConfig;
  return {
      {.table = "kafka",
       .name = "bootstrap",
       .field = text<&C::kafka, &K::bootstrap>(),
       .variable = "USER_EXPORT_KAFKA_BOOTSTRAP",
       .help = "bootstrap servers; empty = no Kafka, messages go to messages.file"},
      {.table = "kafka",
       .name = "client_id",
       .field = text<&C::kafka, &K::client_id>(),
       .help = "client id shown in the broker's logs"},
      {.table = "kafka",
       .name = "compression",
       .field = text<&C::kafka, &K::compression>(),
       .help = "none, gzip, snappy, lz4 or zstd"},
      {.table = "kafka",
       .name = "security_protocol",
       .field = text<&C::kafka, &K::security_protocol>(),
       .help = "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
      {.table = "kafka",
       .name = "sasl_mechanism",
       .field = text<&C::kafka, &K::sasl_mechanism>(),
       .help = "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI or OAUTHBEARER"},
      {.table = "kafka",
       .name = "sasl_username",
       .field = text<&C::kafka, &K::sasl_username>(),
       .help = "SASL user name"},
      {.table = "kafka",
       .name = "ssl_ca_location",
       .field = text<&C::kafka, &K::ssl_ca_location>(),
       .help = "CA file for the brokers' certificates"},
      {.table = "kafka",
       .name = "rate_limit_messages_per_second",
       .kind = kReal,
       .field = real<&C::kafka, &K::rate_limit_messages_per_second>(),
       .reals = {0.0, kNoRealMax},
       .help = "most messages published per second; 0 = unlimited"},
      {.table = "kafka",
       .name = "rate_limit_bytes_per_second",
       .kind = kReal,
       .field = real<&C::kafka, &K::rate_limit_bytes_per_second>(),
       .reals = {0.0, kNoRealMax},
       .help = "most message bytes published per second; 0 = unlimited"},
      {.table = "kafka",
       .name = "circuit_failure_threshold",
       .kind = kInteger,
       .field = whole<&C::kafka, &K::circuit_failure_threshold>(),
       .integers = {1, 1'000'000},
       .help = "consecutive failed deliveries that open the circuit breaker"},
      {.table = "kafka",
       .name = "circuit_cool_down_ms",
       .kind = kMilliseconds,
       .field = millis<&C::kafka, &K::circuit_cool_down>(),
       .integers = millis_range(0),
       .help = "how long the circuit stays open before one trial delivery"},
      {.table = "kafka",
       .name = "sasl_password",
       .field = text<&C::kafka, &K::sasl_password>(),
       .variable = "USER_EXPORT_KAFKA_SASL_PASSWORD",
       .secret = true,
       .help = "Kafka SASL password"},
      {.table = "kafka",
       .name = "properties",
       .kind = kCustom,
       .help = "any other librdkafka producer property (`[kafka.properties]`)"},
  };
}

std::vector<KeyDecl> csv_and_retry_keys() {
  using V = CsvConfig;
  using R = RetryConfig;
  return {
      {.table = "csv",
       .name = "header",
       .kind = kFlag,
       .field = flag<&C::csv, &V::header>(),
       .help = "write a header row"},
      {.table = "csv",
       .name = "line_ending",
       .kind = kCustom,
       .field = text<&C::csv, &V::line_ending>(),
       .help = "\"lf\" or \"crlf\""},
      {.table = "csv",
       .name = "formula_guard",
       .kind = kFlag,
       .field = flag<&C::csv, &V::formula_guard>(),
       .help = "quote cells starting with = + - @ against formula injection"},
      {.table = "csv",
       .name = "schema_version_column",
       .kind = kFlag,
       .field = flag<&C::csv, &V::schema_version_column>(),
       .help = "add a schema_version column to every row"},
      {.table = "csv",
       .name = "gzip_level",
       .kind = kInteger,
       .field = whole<&C::csv, &V::gzip_level>(),
       .integers = {0, 3, "ISA-L has levels 0 to 3"},
       .help = "gzip level of ISA-L"},
      {.table = "csv",
       .name = "columns",
       .kind = kCustom,
       .help = "the columns in order (`[[csv.columns]]`: source, header, mask)"},
      {.table = "retry",
       .name = "max_attempts",
       .kind = kInteger,
       .field = whole<&C::retry, &R::max_attempts>(),
       .integers = {1, 100},
       .help = "attempts of one group's export in total, the first included"},
      {.table = "retry",
       .name = "initial_backoff_ms",
       .kind = kMilliseconds,
       .field = millis<&C::retry, &R::initial_backoff>(),
       .integers = millis_range(0),
       .help = "delay before the second attempt"},
      {.table = "retry",
       .name = "multiplier",
       .kind = kReal,
       .field = real<&C::retry, &R::multiplier>(),
       .reals = {1.0, 1000.0},
       .help = "each further delay is the previous one times this"},
      {.table = "retry",
       .name = "max_backoff_ms",
       .kind = kMilliseconds,
       .field = millis<&C::retry, &R::max_backoff>(),
       .integers = millis_range(0),
       .help = "upper bound of one delay"},
      {.table = "retry",
       .name = "jitter",
       .kind = kReal,
       .field = real<&C::retry, &R::jitter>(),
       .reals = {0.0, 1.0, true},
       .help = "each delay varies randomly by up to this fraction"},
  };
}

std::vector<KeyDecl> schedule_and_service_keys() {
  using S = ScheduleConfig;
  return {
      {.table = "schedule",
       .name = "cron",
       .field = text<&C::schedule, &S::cron>(),
       .variable = "USER_EXPORT_SCHEDULE",
       .help = "when the service exports: a cron expression with six fields"},
      {.table = "schedule",
       .name = "time_zone",
       .field = text<&C::schedule, &S::time_zone>(),
       .variable = "USER_EXPORT_TIME_ZONE",
       .help = "IANA time zone the cron expression is read in"},
      {.table = "schedule",
       .name = "missed_slot_grace_seconds",
       .kind = kSeconds,
       .field = seconds<1, &C::schedule, &S::missed_slot_grace>(),
       .integers = seconds_range(0, 1),
       .help = "a slot missed by less than this still runs when the service starts"},
      {.table = "schedule",
       .name = "sweep_interval_seconds",
       .kind = kSeconds,
       .field = seconds<1, &C::schedule, &S::sweep_interval>(),
       .integers = seconds_range(0, 1),
       .help = "how often `run` re-runs the last fired slot; 0 = half the lease"},
      {.table = "schedule",
       .name = "max_consumer_lag",
       .kind = kInteger,
       .field = whole<&C::schedule, &S::max_consumer_lag>(),
       .integers = {0, kNoMax},
       .help = "hold a slot while the consumer group's lag exceeds this; 0 = never"},
      {.table = "schedule",
       .name = "consumer_group",
       .field = text<&C::schedule, &S::consumer_group>(),
       .help = "the downstream consumer group whose lag is read"},
      {.table = "admin",
       .name = "addr",
       .field = text<&C::admin, &AdminConfig::addr>(),
       .variable = "USER_EXPORT_ADMIN_ADDR",
       .help = "host:port of the admin HTTP endpoint"},
      {.table = "admin",
       .name = "token",
       .field = text<&C::admin, &AdminConfig::token>(),
       .variable = "USER_EXPORT_ADMIN_TOKEN",
       .secret = true,
       .help = "bearer token of the admin API's /api endpoints"},
      {.table = "service",
       .name = "shutdown_timeout_seconds",
       .kind = kSeconds,
       .field = seconds<1, &C::service, &ServiceConfig::shutdown_timeout>(),
       .integers = seconds_range(0, 1),
       .help = "how long in-flight groups may finish after SIGTERM or SIGINT"},
      {.table = "service",
       .name = "verify_after_slot",
       .kind = kFlag,
       .field = flag<&C::service, &ServiceConfig::verify_after_slot>(),
       .help = "reconcile each slot's runs once its messages are delivered"},
      {.table = "retention",
       .name = "days",
       .kind = kInteger,
       .field = whole<&C::retention, &RetentionConfig::days>(),
       .integers = {1, 36'500, "finished history older than this many days is deleted"},
       .help = "finished history older than this many days is deleted"},
      {.table = "log",
       .name = "level",
       .field = text<&C::log, &LogConfig::level>(),
       .variable = "USER_EXPORT_LOG_LEVEL",
       .help = "trace, debug, info, warn, error, critical or off"},
      {.table = "log",
       .name = "json",
       .kind = kFlag,
       .field = flag<&C::log, &LogConfig::json>(),
       .help = "one JSON object per log line instead of text"},
  };
}

std::vector<KeyDecl> all_keys() {
  std::vector<KeyDecl> all;
  for (auto part : {export_and_database_keys, store_keys, messages_keys, kafka_keys,
                    csv_and_retry_keys, schedule_and_service_keys}) {
    auto keys = part();
    all.insert(all.end(), keys.begin(), keys.end());
  }
  return all;
}

}  // namespace

std::string KeyDecl::dotted() const {
  return table.empty() ? std::string(name) : std::string(table) + "." + std::string(name);
}

std::span<const KeyDecl> keys() {
  static const std::vector<KeyDecl> kKeys = all_keys();
  return kKeys;
}

const KeyDecl* key_for(std::string_view dotted) {
  for (const auto& key : keys()) {
    if (key.dotted() == dotted) return &key;
  }
  return nullptr;
}

}  // namespace user_export::config_detail
