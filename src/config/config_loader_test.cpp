#include "config/config_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "common/error.hpp"
#include "common/process_owner.hpp"

namespace user_export {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kDomain = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

/// The smallest valid file: the required values, with the messages file standing in for Kafka.
std::string minimal(std::string_view extra = "") {
  return std::string(R"([export]
domain_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
[database]
url = "sqlite:///var/lib/ue/ue.db"
[store]
url = "file:///var/lib/ue/objects"
[messages]
file = "/var/lib/ue/messages.jsonl"
)") + std::string(extra);
}

Config load(std::string_view text, const Environment& env = Environment()) {
  return load_config_text(text, "test.toml", env);
}

/// The message of the Error(kConfig) that loading `text` throws ("" and a failure if none).
std::string problems_of(std::string_view text, const Environment& env = Environment()) {
  try {
    load(text, env);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_FALSE(e.retriable());
    return e.what();
  }
  ADD_FAILURE() << "the configuration loaded without error:\n" << text;
  return "";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LoadConfig, ExampleFileLoadsAndDocumentsTheDefaults) {
  Config config = load_config(UE_EXAMPLE_CONFIG, Environment({{"TMPDIR", "/scratch"}}));
  EXPECT_EQ(config.source_path, UE_EXAMPLE_CONFIG);
  EXPECT_EQ(config.database.url, "sqlite:///var/lib/user-export/user-export.db");
  EXPECT_EQ(config.store.url, "file:///var/lib/user-export/objects");
  EXPECT_EQ(config.messages.file, "/var/lib/user-export/messages.jsonl");
  EXPECT_EQ(config.export_.domain_id, kDomain);
  EXPECT_EQ(config.export_.staging_dir, "/scratch/user-export-staging-" + std::to_string(getuid()));

  // Every other value the example writes is the documented default, i.e. the struct's own.
  Config expected;
  expected.source_path = UE_EXAMPLE_CONFIG;
  expected.database.url = config.database.url;
  expected.store.url = config.store.url;
  expected.messages.file = config.messages.file;
  expected.export_.domain_id = kDomain;
  expected.export_.staging_dir = config.export_.staging_dir;
  expected.export_.instance_id = config.export_.instance_id;
  expected.csv.columns = default_csv_columns();
  EXPECT_EQ(config, expected);
}

TEST(LoadConfig, FillsMachineDefaults) {
  Config config = load(minimal());
  EXPECT_EQ(config.csv.columns, default_csv_columns());
  EXPECT_EQ(config.export_.staging_dir, "/tmp/user-export-staging-" + std::to_string(getuid()));
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(config.export_.instance_id, default_instance_id());
  EXPECT_THAT(config.export_.instance_id,
              StartsWith(std::string(host) + ":" + std::to_string(getpid()) + ":"));
  EXPECT_EQ(config.csv.line_ending, "\n");
  EXPECT_EQ(config.schedule.cron, "0 59 20 * * *");
  EXPECT_EQ(config.store.presign, std::chrono::seconds(0));  // no presigned URLs
}

TEST(LoadConfig, PresignSecondsGoesUpToSevenDays) {
  EXPECT_EQ(load(minimal("[store.s3]\npresign_seconds = 604800\n")).store.presign,
            std::chrono::seconds(604800));
  EXPECT_EQ(load(minimal("[store.s3]\npresign_seconds = 0\n")).store.presign,
            std::chrono::seconds(0));
}

TEST(LoadConfig, DefaultColumnsAreTheSpecifiedOnes) {
  std::vector<std::string> sources;
  for (const auto& column : default_csv_columns()) {
    EXPECT_EQ(column.header, column.source);
    EXPECT_EQ(column.mask, MaskMode::kNone);
    sources.push_back(column.source);
  }
  EXPECT_EQ(sources, (std::vector<std::string>{"ref_id", "username", "email", "phone", "created_at",
                                               "display_name", "gender", "date_of_birth", "city",
                                               "bio", "interests"}));
}

TEST(LoadConfig, ReadsEveryTable) {
  Config c = load(minimal(R"(
[store.s3]
endpoint = "http://127.0.0.1:9000"
region = "eu-west-1"
path_style = false
verify_tls = false
ca_bundle = "/etc/ssl/ca.pem"
connect_timeout_ms = 1500
request_timeout_ms = 2500
part_size_mib = 6
multipart_threshold_mib = 7
parallel_parts = 3
abort_incomplete_after_hours = 24
presign_seconds = 900
[kafka]
bootstrap = "k1:9092,k2:9092"
compression = "lz4"
rate_limit_messages_per_second = 50
rate_limit_bytes_per_second = 1.5e6
circuit_failure_threshold = 2
circuit_cool_down_ms = 700
[csv]
header = false
line_ending = "crlf"
formula_guard = true
schema_version_column = true
gzip_level = 3
[[csv.columns]]
source = "ref_id"
[[csv.columns]]
source = "email"
header = "E-Mail"
mask = "partial"
[retry]
max_attempts = 5
initial_backoff_ms = 10
multiplier = 2
max_backoff_ms = 20
jitter = 0.0
[schedule]
cron = "0 */5 * * * *"
time_zone = "UTC"
missed_slot_grace_seconds = 60
sweep_interval_seconds = 7
max_consumer_lag = 5000
consumer_group = "matching"
[admin]
addr = "[::1]:9100"
[service]
shutdown_timeout_seconds = 12
verify_after_slot = true
[retention]
days = 90
[log]
level = "debug"
json = true
)"));
  EXPECT_EQ(c.store.s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c.store.s3_region, "eu-west-1");
  EXPECT_FALSE(c.store.s3_path_style);
  EXPECT_FALSE(c.store.verify_tls);
  EXPECT_EQ(c.store.ca_bundle, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.store.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.store.request_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.store.part_size, 6u << 20);
  EXPECT_EQ(c.store.multipart_threshold, 7u << 20);
  EXPECT_EQ(c.store.parallel_parts, 3);
  EXPECT_EQ(c.store.abort_incomplete_after, std::chrono::hours(24));
  EXPECT_EQ(c.store.presign, std::chrono::seconds(900));
  EXPECT_EQ(c.kafka.bootstrap, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.compression, "lz4");
  EXPECT_EQ(c.kafka.rate_limit_messages_per_second, 50.0);
  EXPECT_EQ(c.kafka.rate_limit_bytes_per_second, 1.5e6);
  EXPECT_EQ(c.kafka.circuit_failure_threshold, 2);
  EXPECT_EQ(c.kafka.circuit_cool_down, std::chrono::milliseconds(700));
  EXPECT_FALSE(c.csv.header);
  EXPECT_EQ(c.csv.line_ending, "\r\n");
  EXPECT_TRUE(c.csv.formula_guard);
  EXPECT_TRUE(c.csv.schema_version_column);
  EXPECT_EQ(c.csv.gzip_level, 3);
  EXPECT_EQ(c.csv.columns, (std::vector<CsvColumn>{{"ref_id", "ref_id", MaskMode::kNone},
                                                   {"email", "E-Mail", MaskMode::kPartial}}));
  EXPECT_EQ(c.retry.max_attempts, 5);
  EXPECT_EQ(c.retry.initial_backoff, std::chrono::milliseconds(10));
  EXPECT_EQ(c.retry.multiplier, 2.0);
  EXPECT_EQ(c.retry.max_backoff, std::chrono::milliseconds(20));
  EXPECT_EQ(c.retry.jitter, 0.0);
  EXPECT_EQ(c.schedule.cron, "0 */5 * * * *");
  EXPECT_EQ(c.schedule.time_zone, "UTC");
  EXPECT_EQ(c.schedule.missed_slot_grace, std::chrono::seconds(60));
  EXPECT_EQ(c.schedule.sweep_interval, std::chrono::seconds(7));
  EXPECT_EQ(c.schedule.max_consumer_lag, 5000);
  EXPECT_EQ(c.schedule.consumer_group, "matching");
  EXPECT_EQ(c.admin.addr, "[::1]:9100");
  EXPECT_EQ(c.service.shutdown_timeout, std::chrono::seconds(12));
  EXPECT_TRUE(c.service.verify_after_slot);
  EXPECT_EQ(c.retention.days, 90);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_TRUE(c.log.json);
}

TEST(LoadConfig, EnvironmentOverridesTheFile) {
  Environment env({
      {"USER_EXPORT_DATABASE_URL", "postgresql://app:pw@db:5432/users"},
      {"USER_EXPORT_DOMAIN_ID", "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"},
      {"USER_EXPORT_STORE_URL", "s3://exports/users"},
      {"USER_EXPORT_S3_ENDPOINT", "http://127.0.0.1:9000"},
      {"USER_EXPORT_S3_REGION", "eu-central-1"},
      {"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"},
      {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"},
      {"USER_EXPORT_KAFKA_BOOTSTRAP", "broker:9092"},
      {"USER_EXPORT_KAFKA_SASL_PASSWORD", "sasl-pw"},
      {"USER_EXPORT_MESSAGES_FILE", "/srv/messages.jsonl"},
      {"USER_EXPORT_SCHEDULE", "0 0 * * * *"},
      {"USER_EXPORT_TIME_ZONE", "Europe/Berlin"},
      {"USER_EXPORT_ADMIN_ADDR", "0.0.0.0:9000"},
      {"USER_EXPORT_ADMIN_TOKEN", "tok"},
      {"USER_EXPORT_HASH_KEY", "hk"},
      {"USER_EXPORT_LOG_LEVEL", "warn"},
  });
  Config c = load(minimal(R"(
[kafka]
bootstrap = "file-broker:9092"
[schedule]
cron = "0 1 1 * * *"
time_zone = "Asia/Kolkata"
[log]
level = "error"
)"),
                  env);
  EXPECT_EQ(c.database.url, "postgresql://app:pw@db:5432/users");
  EXPECT_EQ(c.export_.domain_id, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");  // canonical form
  EXPECT_EQ(c.store.url, "s3://exports/users");
  EXPECT_EQ(c.store.s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c.store.s3_region, "eu-central-1");
  EXPECT_EQ(c.store.access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(c.store.secret_key, "wJalrXUtnFEMI");
  EXPECT_EQ(c.kafka.bootstrap, "broker:9092");
  EXPECT_EQ(c.kafka.sasl_password, "sasl-pw");
  EXPECT_EQ(c.messages.file, "/srv/messages.jsonl");
  EXPECT_EQ(c.schedule.cron, "0 0 * * * *");
  EXPECT_EQ(c.schedule.time_zone, "Europe/Berlin");
  EXPECT_EQ(c.admin.addr, "0.0.0.0:9000");
  EXPECT_EQ(c.admin.token, "tok");
  EXPECT_EQ(c.hash_key, "hk");
  EXPECT_EQ(c.log.level, "warn");
}

TEST(LoadConfig, EmptyEnvironmentVariableCountsAsUnset) {
  Config c = load(minimal(), Environment({{"USER_EXPORT_DATABASE_URL", ""}}));
  EXPECT_EQ(c.database.url, "sqlite:///var/lib/ue/ue.db");
}

TEST(LoadConfig, EnvironmentAloneCanSupplyTheRequiredValues) {
  Config c = load("", Environment({{"USER_EXPORT_DATABASE_URL", "sqlite:///d.db"},
                                   {"USER_EXPORT_STORE_URL", "file:///o"},
                                   {"USER_EXPORT_DOMAIN_ID", kDomain},
                                   {"USER_EXPORT_KAFKA_BOOTSTRAP", "b:9092"}}));
  EXPECT_EQ(c.database.url, "sqlite:///d.db");
  EXPECT_TRUE(c.messages.file.empty());  // not needed with Kafka
}

TEST(LoadConfig, SyntaxErrorNamesLineAndColumn) {
  std::string message = problems_of("[export]\nmark_sent = true\ndomain_id = \"abc\n");
  EXPECT_THAT(message, AllOf(StartsWith("test.toml:3:"), HasSubstr("TOML syntax error")));
}

TEST(LoadConfig, MisspelledTableIsAnErrorWithASuggestion) {
  std::string message = problems_of(minimal("[exprot]\nmark_sent = false\n"));
  EXPECT_THAT(message, HasSubstr("test.toml:9: exprot: unknown table; did you mean [export]?"));
  EXPECT_THAT(message, HasSubstr("valid tables: export, database, store"));
  EXPECT_THAT(problems_of("domain_id = \"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"\n" + minimal()),
              HasSubstr("test.toml:1: domain_id: unknown top-level key; every setting belongs in "
                        "a table; valid tables: export"));
  EXPECT_THAT(problems_of("hash_key = \"k\"\n" + minimal()),
              HasSubstr("test.toml:1: hash_key: secrets are not read from the file; remove it "
                        "and set USER_EXPORT_HASH_KEY in the environment"));
}

TEST(LoadConfig, MisspelledKeyIsAnErrorListingTheValidKeys) {
  std::string message = problems_of(minimal("[retry]\n\nmax_atempts = 2\n"));
  EXPECT_THAT(message, HasSubstr("test.toml:11: retry.max_atempts: unknown key; did you mean "
                                 "'max_attempts'? valid keys in [retry]: max_attempts, "
                                 "initial_backoff_ms"));
  EXPECT_THAT(problems_of(minimal("[store.s3]\nendpiont = \"http://x\"\n")),
              HasSubstr("test.toml:10: store.s3.endpiont: unknown key; did you mean 'endpoint'?"));
  EXPECT_THAT(problems_of(minimal("[export.extra]\n")),
              HasSubstr("test.toml:9: export.extra: unknown key; valid keys in [export]"));
}

TEST(LoadConfig, WrongTypeNamesKeyLineAndBothTypes) {
  EXPECT_THAT(problems_of(minimal("[log]\njson = \"yes\"\n")),
              HasSubstr("test.toml:10: log.json: expected a boolean, found a string; write true "
                        "or false"));
  EXPECT_THAT(problems_of("[export]\nmax_parallel_groups = \"4\"\n"),
              HasSubstr("test.toml:2: export.max_parallel_groups: expected an integer, found a "
                        "string; write a whole number without quotes"));
  EXPECT_THAT(problems_of(minimal("log = 3\n")),
              HasSubstr("test.toml:9: messages.log: unknown key"));
  EXPECT_THAT(problems_of("log = 3\n"),
              HasSubstr("test.toml:1: log: expected a table, found an integer"));
  EXPECT_THAT(problems_of(minimal("[retry]\njitter = \"0.1\"\n")),
              HasSubstr("test.toml:10: retry.jitter: expected a number, found a string"));
  EXPECT_THAT(problems_of(minimal("[csv]\ncolumns = \"email\"\n")),
              HasSubstr("test.toml:10: csv.columns: expected an array of tables, found a string"));
}

/// `minimal()` with `keys` added to `[table]`: after its header when minimal() has that table
/// (export: line 2 on, messages: line 8 on), else in a new table at the end (line 10 on).
std::string with_keys(std::string_view table, std::string_view keys) {
  std::string file = minimal();
  std::string header = "[" + std::string(table) + "]\n";
  if (auto at = file.find(header); at != std::string::npos) {
    file.insert(at + header.size(), keys);
  } else {
    file += header + std::string(keys);
  }
  return file;
}

struct RangeCase {
  const char* table;
  const char* keys;      ///< one line, added to `table` by with_keys()
  int line;              ///< the line it lands on
  const char* key;       ///< the dotted key the problem must name
  const char* expected;  ///< the problem text after the key
};

class OutOfRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(OutOfRange, NamesKeyLineAndRange) {
  const RangeCase& c = GetParam();
  std::string message = problems_of(with_keys(c.table, c.keys));
  EXPECT_THAT(message,
              HasSubstr("test.toml:" + std::to_string(c.line) + ": " + c.key + ": " + c.expected));
  EXPECT_EQ(lines_of(message).size(), 1u) << message;
}

INSTANTIATE_TEST_SUITE_P(
    LoadConfig, OutOfRange,
    ::testing::Values(
        RangeCase{"export", "max_parallel_groups = 0\n", 2, "export.max_parallel_groups",
                  "must be between 1 and 1024, found 0"},
        RangeCase{"export", "max_parallel_groups = 99999999999\n", 2, "export.max_parallel_groups",
                  "must be between 1 and 1024, found 99999999999"},
        RangeCase{"export", "lease_seconds = 0\n", 2, "export.lease_seconds", "must be between 1"},
        RangeCase{"export", "batch_max_groups = 0\n", 2, "export.batch_max_groups",
                  "must be between 1 and 100000, found 0"},
        RangeCase{"export", "batch_max_group_users = 0\n", 2, "export.batch_max_group_users",
                  "must be between 1 and 100000000, found 0"},
        RangeCase{"export", "staging_dir = \"staging\"\n", 2, "export.staging_dir",
                  "\"staging\" is not an absolute path"},
        RangeCase{"store.s3", "parallel_parts = 0\n", 10, "store.s3.parallel_parts",
                  "must be between 1 and 64, found 0"},
        RangeCase{"store.s3", "part_size_mib = 4\n", 10, "store.s3.part_size_mib",
                  "must be between 5 and 5120, found 4; S3 parts are at least 5 MiB"},
        RangeCase{"store.s3", "presign_seconds = 604801\n", 10, "store.s3.presign_seconds",
                  "must be between 0 and 604800, found 604801; SigV4 signs a URL for at most 7 "
                  "days"},
        RangeCase{"store.s3", "presign_seconds = -1\n", 10, "store.s3.presign_seconds",
                  "must be between 0 and 604800, found -1"},
        RangeCase{"store.s3", "presign_seconds = \"3600\"\n", 10, "store.s3.presign_seconds",
                  "expected an integer"},
        RangeCase{"retry", "jitter = 1.0\n", 10, "retry.jitter",
                  "must be at least 0.0 and below 1.0, found 1.0"},
        RangeCase{"retry", "jitter = -0.1\n", 10, "retry.jitter", "must be at least 0.0"},
        RangeCase{"retry", "multiplier = nan\n", 10, "retry.multiplier", "must be between 1.0"},
        RangeCase{"retry", "max_backoff_ms = 50\n", 10, "retry.max_backoff_ms",
                  "is below initial_backoff_ms (100)"},
        RangeCase{"csv", "gzip_level = 4\n", 10, "csv.gzip_level",
                  "must be between 0 and 3, found 4; ISA-L has levels 0 to 3"},
        RangeCase{"csv", "line_ending = \"cr\"\n", 10, "csv.line_ending",
                  "unknown line ending \"cr\"; use \"lf\""},
        RangeCase{"messages", "max_message_bytes = 1023\n", 8, "messages.max_message_bytes",
                  "must be between 1024 and 1000000000, found 1023"},
        RangeCase{"kafka", "rate_limit_bytes_per_second = -1\n", 10,
                  "kafka.rate_limit_bytes_per_second", "must be at least 0.0, found -1.0"},
        RangeCase{"kafka", "compression = \"brotli\"\n", 10, "kafka.compression",
                  "unknown codec \"brotli\""},
        RangeCase{"log", "level = \"verbose\"\n", 10, "log.level", "unknown level \"verbose\""},
        RangeCase{"schedule", "max_consumer_lag = -1\n", 10, "schedule.max_consumer_lag",
                  "must be at least 0, found -1"},
        RangeCase{"service", "shutdown_timeout_seconds = -5\n", 10,
                  "service.shutdown_timeout_seconds", "must be between 0"},
        RangeCase{"service", "verify_after_slot = \"yes\"\n", 10, "service.verify_after_slot",
                  "expected a boolean, found a string"},
        RangeCase{"retention", "days = 0\n", 10, "retention.days",
                  "must be between 1 and 36500, found 0; finished history older than"},
        RangeCase{"retention", "days = \"30\"\n", 10, "retention.days", "expected an integer"},
        RangeCase{"admin", "addr = \"localhost\"\n", 10, "admin.addr",
                  "\"localhost\" is not host:port"},
        RangeCase{"admin", "addr = \"h:99999\"\n", 10, "admin.addr",
                  "\"h:99999\" is not host:port"},
        RangeCase{"schedule", "cron = \"59 20 * * *\"\n", 10, "schedule.cron",
                  "invalid cron expression '59 20 * * *': it has 5 fields; expected six"},
        RangeCase{"schedule", "time_zone = \"Asia Kolkata\"\n", 10, "schedule.time_zone",
                  "unknown time zone 'Asia Kolkata'"},
        RangeCase{"schedule", "time_zone = \"Mars/Olympus\"\n", 10, "schedule.time_zone",
                  "unknown time zone 'Mars/Olympus'"},
        RangeCase{"schedule", "cron = \"0 61 * * * *\"\n", 10, "schedule.cron",
                  "invalid cron expression '0 61 * * * *': minute field '61'"}));

TEST(LoadConfig, CronMacrosAreAccepted) {
  Config c = load(minimal("[schedule]\ncron = \"@daily\"\n"));
  EXPECT_EQ(c.schedule.cron, "@daily");
}

TEST(LoadConfig, CsvColumnProblemsNameTheColumn) {
  std::string message = problems_of(minimal(R"([[csv.columns]]
source = "ref_id"
[[csv.columns]]
source = "emial"
[[csv.columns]]
source = "email"
header = "ref_id"
[[csv.columns]]
source = "phone"
mask = "scramble"
[[csv.columns]]
header = "x"
)"));
  EXPECT_THAT(message, HasSubstr("test.toml:12: csv.columns[1].source: unknown source field "
                                 "\"emial\"; use one of id, ref_id, username, email"));
  EXPECT_THAT(message, HasSubstr("test.toml:15: csv.columns[2].header: header \"ref_id\" is "
                                 "already used by csv.columns[0]"));
  EXPECT_THAT(message, HasSubstr("test.toml:18: csv.columns[3].mask: unknown mask mode "
                                 "\"scramble\"; use none, redact, partial or hash"));
  EXPECT_THAT(message, HasSubstr("test.toml:19: csv.columns[4].source: missing"));
  EXPECT_EQ(lines_of(message).size(), 4u) << message;
}

TEST(LoadConfig, SchemaVersionColumnMayNotCollideWithAHeader) {
  EXPECT_THAT(problems_of(minimal(R"([csv]
schema_version_column = true
[[csv.columns]]
source = "ref_id"
header = "schema_version"
)")),
              HasSubstr("test.toml:10: csv.schema_version_column: a column already has"));
}

TEST(LoadConfig, HashMaskNeedsTheHashKey) {
  std::string file = minimal("[[csv.columns]]\nsource = \"email\"\nmask = \"hash\"\n");
  EXPECT_THAT(problems_of(file),
              HasSubstr("test.toml:11: csv.columns[0].mask: mask \"hash\" needs a key; set "
                        "USER_EXPORT_HASH_KEY"));
  Config c = load(file, Environment({{"USER_EXPORT_HASH_KEY", "k"}}));
  EXPECT_EQ(c.csv.columns.at(0).mask, MaskMode::kHash);
  EXPECT_EQ(c.hash_key, "k");
}

TEST(LoadConfig, DomainIdMustBeAUuid) {
  std::string file = minimal();
  file.replace(file.find(kDomain), 36, "not-a-uuid");
  EXPECT_THAT(problems_of(file),
              HasSubstr("test.toml:2: export.domain_id: invalid domain id 'not-a-uuid'"));
  EXPECT_THAT(problems_of(minimal(), Environment({{"USER_EXPORT_DOMAIN_ID", "42"}})),
              HasSubstr("test.toml: export.domain_id (set by USER_EXPORT_DOMAIN_ID): invalid "
                        "domain id '42'"));
}

TEST(LoadConfig, RelativeSqlitePathIsRejectedWithTheFix) {
  for (const char* url : {"sqlite://ue.db", "sqlite:data/ue.db", "sqlite:///"}) {
    std::string file = minimal();
    file.replace(file.find("sqlite:///var/lib/ue/ue.db"), 26, url);
    EXPECT_THAT(problems_of(file),
                HasSubstr(std::string("test.toml:4: database.url: \"") + url +
                          "\" does not name an absolute SQLite file; write sqlite:// followed by "
                          "an absolute path (three slashes in all), e.g. "
                          "sqlite:///var/lib/user-export/user-export.db"));
  }
}

TEST(LoadConfig, DatabaseUrlSchemeIsCheckedWithoutShowingThePassword) {
  std::string message =
      problems_of(minimal(), Environment({{"USER_EXPORT_DATABASE_URL", "mysql://u:hunter2@db/x"}}));
  EXPECT_THAT(message, HasSubstr("database.url (set by USER_EXPORT_DATABASE_URL): "
                                 "\"mysql://u:***@db/x\" has an unsupported scheme"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("hunter2")));
  for (const char* ok : {"postgresql://u:p@db:5432/x", "postgres://db/x"}) {
    EXPECT_EQ(load(minimal(), Environment({{"USER_EXPORT_DATABASE_URL", ok}})).database.url, ok);
  }
}

TEST(LoadConfig, StoreUrlIsChecked) {
  auto with_store = [](const char* url) { return Environment({{"USER_EXPORT_STORE_URL", url}}); };
  EXPECT_THAT(problems_of(minimal(), with_store("file://objects")),
              HasSubstr("does not name an absolute directory"));
  EXPECT_THAT(problems_of(minimal(), with_store("s3://My_Bucket/x")),
              HasSubstr("store.url (set by USER_EXPORT_STORE_URL): invalid bucket name "
                        "\"My_Bucket\""));
  for (const char* bad :
       {"s3://ab", "s3://-bucket", "s3://192.168.0.1", "s3://a..b", "s3:///prefix"}) {
    EXPECT_THAT(problems_of(minimal(), with_store(bad)), HasSubstr("invalid bucket name")) << bad;
  }
  EXPECT_THAT(problems_of(minimal(), with_store("s3://bucket//x")),
              HasSubstr("has an empty path segment"));
  EXPECT_THAT(problems_of(minimal(), with_store("gs://bucket")),
              HasSubstr("has an unsupported scheme; use file:///absolute/dir or s3://"));
  EXPECT_EQ(load(minimal(), with_store("s3://user-exports.prod/a/b")).store.url,
            "s3://user-exports.prod/a/b");
  EXPECT_EQ(load(minimal(), with_store("s3://bucket")).store.url, "s3://bucket");
}

TEST(LoadConfig, S3SettingsAreChecked) {
  std::string message = problems_of(
      minimal("[store.s3]\nendpoint = \"127.0.0.1:9000\"\n"),
      Environment({{"USER_EXPORT_STORE_URL", "s3://bucket"}, {"AWS_ACCESS_KEY_ID", "AKIA1234"}}));
  EXPECT_THAT(message, HasSubstr("test.toml:10: store.s3.endpoint: \"127.0.0.1:9000\" is not an "
                                 "http:// or https:// URL"));
  EXPECT_THAT(message, HasSubstr("store.s3.secret_key: AWS_ACCESS_KEY_ID is set but "
                                 "AWS_SECRET_ACCESS_KEY is not; set both or neither"));
}

TEST(LoadConfig, APostgresPoolMustHaveAConnectionMoreThanTheParallelGroups) {
  auto with_database = [](const std::string& lines) {
    std::string text = minimal();
    const std::string sqlite = "url = \"sqlite:///var/lib/ue/ue.db\"\n";
    return text.replace(text.find(sqlite), sqlite.size(), lines);
  };
  EXPECT_THAT(problems_of(with_database("url = \"postgresql://u@db/x\"\npool_size = 4\n")),
              HasSubstr("database.pool_size: pool_size = 4 must be larger than "
                        "export.max_parallel_groups = 4"));
  EXPECT_THAT(problems_of(with_database("url = \"postgresql://u@db/x?pool_size=2\"\n")),
              HasSubstr("database.url: its pool_size = 2 must be larger"));
  // The defaults fit each other, and SQLite has no pool to cap.
  EXPECT_EQ(load(with_database("url = \"postgresql://u@db/x\"\n")).database.pool_size, 8);
  EXPECT_NO_THROW(load(with_database("url = \"sqlite:///var/lib/ue/ue.db\"\npool_size = 2\n")));
}

TEST(LoadConfig, MissingRequiredValuesNameKeyAndVariable) {
  std::string message = problems_of("[database]\npool_size = 2\n");
  EXPECT_THAT(message, HasSubstr("test.toml:1: database.url: missing; set url in [database] or "
                                 "the environment variable USER_EXPORT_DATABASE_URL"));
  EXPECT_THAT(message, HasSubstr("test.toml: store.url: missing; set url in [store] or the "
                                 "environment variable USER_EXPORT_STORE_URL"));
  EXPECT_THAT(message, HasSubstr("test.toml: export.domain_id: missing; set domain_id in "
                                 "[export] or the environment variable USER_EXPORT_DOMAIN_ID"));
  EXPECT_THAT(message, HasSubstr("test.toml: messages.file: missing, and kafka.bootstrap is "
                                 "empty, so messages have nowhere to go; set file in [messages] "
                                 "or the environment variable USER_EXPORT_MESSAGES_FILE"));
  EXPECT_EQ(lines_of(message).size(), 4u) << message;
}

TEST(LoadConfig, MessagesFileIsOptionalWithKafka) {
  std::string file = minimal("[kafka]\nbootstrap = \"broker:9092\"\n");
  file.erase(file.find("file = \"/var/lib/ue/messages.jsonl\"\n"), 35);
  Config c = load(file);
  EXPECT_EQ(c.kafka.bootstrap, "broker:9092");
  EXPECT_TRUE(c.messages.file.empty());
}

TEST(LoadConfig, MessagesFileMustBeAbsolute) {
  EXPECT_THAT(
      problems_of(minimal(), Environment({{"USER_EXPORT_MESSAGES_FILE", "messages.jsonl"}})),
      HasSubstr("test.toml: messages.file (set by USER_EXPORT_MESSAGES_FILE): "
                "\"messages.jsonl\" is not an absolute path"));
}

TEST(LoadConfig, TopicsAreChecked) {
  EXPECT_THAT(problems_of(with_keys("messages", "topic = \"users export\"\n")),
              HasSubstr("test.toml:8: messages.topic: invalid topic name \"users export\"; "
                        "Kafka topics are 1 to 249 letters"));
  EXPECT_THAT(problems_of(with_keys("messages", "dlq_topic = \"flairbit-users\"\n")),
              HasSubstr("test.toml:8: messages.dlq_topic: is the same topic as messages.topic"));
}

TEST(LoadConfig, KafkaSaslNeedsMechanismUserAndPassword) {
  std::string message = problems_of(minimal("[kafka]\nsecurity_protocol = \"SASL_SSL\"\n"));
  EXPECT_THAT(message, HasSubstr("test.toml:9: kafka.sasl_mechanism: missing while "
                                 "security_protocol is SASL_SSL"));
  message = problems_of(
      minimal("[kafka]\nsecurity_protocol = \"SASL_SSL\"\nsasl_mechanism = \"SCRAM-SHA-512\"\n"));
  EXPECT_THAT(message, HasSubstr("kafka.sasl_username: missing for SCRAM-SHA-512"));
  EXPECT_THAT(message, HasSubstr("kafka.sasl_password: missing for SCRAM-SHA-512; set "
                                 "USER_EXPORT_KAFKA_SASL_PASSWORD"));
  Config c = load(minimal("[kafka]\nsecurity_protocol = \"SASL_SSL\"\nsasl_mechanism = "
                          "\"SCRAM-SHA-512\"\nsasl_username = \"exporter\"\n"),
                  Environment({{"USER_EXPORT_KAFKA_SASL_PASSWORD", "pw"}}));
  EXPECT_EQ(c.kafka.sasl_password, "pw");
  EXPECT_THAT(problems_of(minimal("[kafka]\nsasl_mechanism = \"PLAIN\"\n")),
              HasSubstr("is set but security_protocol is not SASL_PLAINTEXT or SASL_SSL"));
}

TEST(LoadConfig, SecretsInTheFileAreRefusedWithTheVariableToUse) {
  std::string message = problems_of(minimal(R"([store.s3]
secret_key = "abc"
[admin]
token = "t"
[kafka.properties]
"sasl.password" = "p"
)"));
  EXPECT_THAT(message, HasSubstr("test.toml:10: store.s3.secret_key: secrets are not read from "
                                 "the file; remove it and set AWS_SECRET_ACCESS_KEY"));
  EXPECT_THAT(message, HasSubstr("test.toml:12: admin.token: secrets are not read from the file; "
                                 "remove it and set USER_EXPORT_ADMIN_TOKEN"));
  EXPECT_THAT(message, HasSubstr("test.toml:14: kafka.properties.\"sasl.password\": secrets are "
                                 "not read from the file"));
}

TEST(LoadConfig, SecretKafkaPropertiesComeOnlyFromTheEnvironment) {
  std::string message = problems_of(minimal(R"([kafka.properties]
"ssl.key.password" = "p"
ssl.keystore.password = "p"
"sasl.oauthbearer.client.secret" = "s"
"my.api.secret" = "s"
)"));
  EXPECT_THAT(message, HasSubstr("test.toml:10: kafka.properties.\"ssl.key.password\": secrets "
                                 "are not read from the file; remove it and set "
                                 "USER_EXPORT_KAFKA_SSL_KEY_PASSWORD in the environment"));
  EXPECT_THAT(message, HasSubstr("kafka.properties.\"ssl.keystore.password\": secrets are not "
                                 "read from the file; remove it and set "
                                 "USER_EXPORT_KAFKA_SSL_KEYSTORE_PASSWORD"));
  EXPECT_THAT(message, HasSubstr("USER_EXPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET in the "
                                 "environment"));
  EXPECT_THAT(message, HasSubstr("kafka.properties.\"my.api.secret\": its name says it holds a "
                                 "secret"));
  Config c = load(minimal("[kafka.properties]\n\"ssl.ca.pem\" = \"-----BEGIN\"\n"),
                  Environment({{"USER_EXPORT_KAFKA_SSL_KEY_PASSWORD", "from-env"},
                               {"USER_EXPORT_KAFKA_SSL_KEY_PEM", "pem-from-env"}}));
  EXPECT_EQ(c.kafka.extra, (std::map<std::string, std::string>{{"ssl.ca.pem", "-----BEGIN"},
                                                               {"ssl.key.password", "from-env"},
                                                               {"ssl.key.pem", "pem-from-env"}}));
}

TEST(LoadConfig, ACronThatNeverFiresIsRefused) {
  EXPECT_THAT(problems_of(minimal("[schedule]\ncron = \"0 0 0 31 2 *\"\n")),
              HasSubstr("test.toml:10: schedule.cron: '0 0 0 31 2 *' never fires"));
  EXPECT_THAT(problems_of(minimal(), Environment({{"USER_EXPORT_SCHEDULE", "0 0 0 30 2 *"}})),
              HasSubstr("never fires"));
}

TEST(LoadConfig, S3PrefixesAreSafeKeys) {
  for (const char* bad : {"s3://bucket/a/../b", "s3://bucket/..", "s3://bucket//a",
                          "s3://bucket/a//b", "s3://bucket/./a", "s3://bucket/a/."}) {
    EXPECT_THAT(
        problems_of(minimal("[store.s3]\nregion = \"us-east-1\"\n"),
                    Environment({{"USER_EXPORT_STORE_URL", bad}})),
        AllOf(HasSubstr("store.url (set by USER_EXPORT_STORE_URL): prefix"), HasSubstr("segment")))
        << bad;
  }
  for (const char* good : {"s3://bucket", "s3://bucket/", "s3://bucket/exports",
                           "s3://bucket/exports/daily/", "s3://bucket/a..b/c.d"}) {
    Config c = load(minimal("[store.s3]\nregion = \"us-east-1\"\n"),
                    Environment({{"USER_EXPORT_STORE_URL", good}}));
    EXPECT_EQ(c.store.url, good);
  }
}

TEST(LoadConfig, KafkaPropertiesAreFlattenedToText) {
  Config c = load(minimal(R"([kafka.properties]
"linger.ms" = 5
socket.keepalive.enable = true
"batch.num.messages" = "1000"
)"));
  EXPECT_EQ(c.kafka.extra,
            (std::map<std::string, std::string>{{"batch.num.messages", "1000"},
                                                {"linger.ms", "5"},
                                                {"socket.keepalive.enable", "true"}}));
  std::string message = problems_of(minimal(R"([kafka.properties]
acks = "1"
"bootstrap.servers" = "x:9092"
"queue.buffering.max.ms" = [1, 2]
)"));
  EXPECT_THAT(message, HasSubstr("test.toml:10: kafka.properties.acks: the producer always uses "
                                 "acks=all with idempotence"));
  EXPECT_THAT(message, HasSubstr("test.toml:11: kafka.properties.\"bootstrap.servers\": set "
                                 "kafka.bootstrap (or USER_EXPORT_KAFKA_BOOTSTRAP) instead"));
  EXPECT_THAT(message, HasSubstr("test.toml:12: kafka.properties.\"queue.buffering.max.ms\": "
                                 "expected a string, number or boolean, found an array"));
}

TEST(LoadConfig, LineEndingAcceptsNamesAndCharacters) {
  EXPECT_EQ(load(minimal("[csv]\nline_ending = \"\\r\\n\"\n")).csv.line_ending, "\r\n");
  EXPECT_EQ(load(minimal("[csv]\nline_ending = \"CRLF\"\n")).csv.line_ending, "\r\n");
  EXPECT_EQ(load(minimal("[csv]\nline_ending = \"\\n\"\n")).csv.line_ending, "\n");
  EXPECT_EQ(load(minimal("[csv]\nline_ending = \"LF\"\n")).csv.line_ending, "\n");
}

TEST(LoadConfig, AllProblemsAreReportedTogetherInFileOrder) {
  std::string message = problems_of(R"([export]
domain_id = "nope"
max_parallel_groups = 0
[database]
url = "sqlite://relative.db"
[store]
url = "s3://B"
[csv]
gzip_level = 9
[exprot]
)");
  std::vector<std::string> lines = lines_of(message);
  ASSERT_EQ(lines.size(), 7u) << message;
  EXPECT_THAT(lines[0], StartsWith("test.toml:2: export.domain_id: "));
  EXPECT_THAT(lines[1], StartsWith("test.toml:3: export.max_parallel_groups: "));
  EXPECT_THAT(lines[2], StartsWith("test.toml:5: database.url: "));
  EXPECT_THAT(lines[3], StartsWith("test.toml:7: store.url: "));
  EXPECT_THAT(lines[4], StartsWith("test.toml:9: csv.gzip_level: "));
  EXPECT_THAT(lines[5], StartsWith("test.toml:10: exprot: unknown table"));
  EXPECT_THAT(lines[6], StartsWith("test.toml: messages.file: missing"));
}

TEST(LoadConfig, MissingOrUnreadableFileIsAConfigError) {
  try {
    load_config("/nonexistent/user-export.toml", Environment());
    FAIL() << "loaded a file that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/user-export.toml: the configuration file does "
                                    "not exist; check the path given with --config or "
                                    "USER_EXPORT_CONFIG"));
  }
  try {
    load_config("/", Environment());
    FAIL() << "loaded a directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_THAT(e.what(), HasSubstr("is a directory"));
  }
}

TEST(ConfigPathFrom, CommandLineWinsThenEnvironmentElseUsageError) {
  Environment env({{"USER_EXPORT_CONFIG", "/etc/user-export.toml"}});
  EXPECT_EQ(config_path_from("/cli.toml", env), "/cli.toml");
  EXPECT_EQ(config_path_from(std::nullopt, env), "/etc/user-export.toml");
  try {
    config_path_from(std::nullopt, Environment({{"USER_EXPORT_CONFIG", ""}}));
    FAIL() << "no path given, yet one was returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    EXPECT_THAT(e.what(), HasSubstr("pass --config FILE or set USER_EXPORT_CONFIG"));
  }
}

}  // namespace
}  // namespace user_export
