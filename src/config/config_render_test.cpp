#include "config/config_render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "config/config_loader.hpp"

namespace user_export {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// A configuration away from the defaults nearly everywhere, with every secret set, and
/// strings that need escaping.
constexpr const char* kBusyFile = R"([export]
domain_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
mark_sent = false
max_parallel_groups = 7
queue_capacity = 9
staging_dir = "/var/tmp/stage"
instance_id = "node \"a\" \\ 1	tab"
lease_seconds = 45
batch_max_groups = 17
batch_max_group_users = 321
[database]
url = "postgresql://app:file-db-password@db:5432/users?sslmode=require"
pool_size = 9
connect_timeout_ms = 1234
[store]
url = "s3://user-exports/prod"
[store.s3]
endpoint = "https://minio.internal:9000"
region = "eu-west-3"
path_style = false
verify_tls = false
ca_bundle = "/etc/ca.pem"
connect_timeout_ms = 111
request_timeout_ms = 222
part_size_mib = 12
multipart_threshold_mib = 64
parallel_parts = 5
abort_incomplete_after_hours = 48
presign_seconds = 3600
[messages]
topic = "users-out"
dlq_topic = "users-dead"
max_message_bytes = 2048
delivery_timeout_ms = 999
[kafka]
bootstrap = "k1:9092,k2:9092"
client_id = "exporter-x"
compression = "gzip"
security_protocol = "SASL_SSL"
sasl_mechanism = "SCRAM-SHA-256"
sasl_username = "svc"
ssl_ca_location = "/etc/kafka-ca.pem"
rate_limit_messages_per_second = 0.1
rate_limit_bytes_per_second = 123456.789
circuit_failure_threshold = 11
circuit_cool_down_ms = 4321
[kafka.properties]
"linger.ms" = "7"
[csv]
header = false
line_ending = "crlf"
formula_guard = true
schema_version_column = true
gzip_level = 0
[[csv.columns]]
source = "ref_id"
header = "Ref \"ID\""
[[csv.columns]]
source = "email"
mask = "hash"
[[csv.columns]]
source = "phone"
header = "Telefon"
mask = "partial"
[[csv.columns]]
source = "bio"
mask = "redact"
[retry]
max_attempts = 6
initial_backoff_ms = 5
multiplier = 1.7
max_backoff_ms = 77
jitter = 0.3
[schedule]
cron = "*/10 * * * * *"
time_zone = "America/New_York"
missed_slot_grace_seconds = 12
[admin]
addr = "0.0.0.0:9999"
[service]
verify_after_slot = true
[retention]
days = 45
[log]
level = "trace"
json = true
)";

Environment secrets() {
  return Environment({
      {"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"},
      {"AWS_SECRET_ACCESS_KEY", "aws-secret-value"},
      {"USER_EXPORT_KAFKA_SASL_PASSWORD", "sasl-secret-value"},
      {"USER_EXPORT_ADMIN_TOKEN", "admin-secret-value"},
      {"USER_EXPORT_HASH_KEY", "hash-secret-value"},
      {"USER_EXPORT_KAFKA_SSL_KEY_PASSWORD", "property-secret"},
      {"USER_EXPORT_DATABASE_URL",
       "postgresql://app:file-db-password@db:5432/users?sslmode=require&pass%77ord=query-secret"},
  });
}

TEST(RenderEffectiveConfig, NeverShowsASecret) {
  Config config = load_config_text(kBusyFile, "busy.toml", secrets());
  std::string text = render_effective_config(config);
  for (const char* secret :
       {"file-db-password", "AKIAIOSFODNN7EXAMPLE", "aws-secret-value", "sasl-secret-value",
        "admin-secret-value", "hash-secret-value", "property-secret", "query-secret"}) {
    EXPECT_THAT(text, Not(HasSubstr(secret))) << text;
  }
  EXPECT_THAT(text, HasSubstr("url = \"postgresql://app:***@db:5432/users?sslmode=require&"
                              "pass%77ord=***\""));
  EXPECT_THAT(text, HasSubstr("# access_key: AKIA… (from AWS_ACCESS_KEY_ID)"));
  EXPECT_THAT(text, HasSubstr("# secret_key: *** (from AWS_SECRET_ACCESS_KEY)"));
  EXPECT_THAT(text, HasSubstr("# sasl_password: *** (from USER_EXPORT_KAFKA_SASL_PASSWORD)"));
  EXPECT_THAT(text, HasSubstr("# token: *** (from USER_EXPORT_ADMIN_TOKEN)"));
  EXPECT_THAT(text, HasSubstr("# hash key: *** (from USER_EXPORT_HASH_KEY)"));
  EXPECT_THAT(text, HasSubstr("# ssl.key.password: *** (from USER_EXPORT_KAFKA_SSL_KEY_PASSWORD)"));
  EXPECT_EQ(config.kafka.extra.at("ssl.key.password"), "property-secret");
}

TEST(RenderEffectiveConfig, ShowsPresignSeconds) {
  Config config = load_config_text(kBusyFile, "busy.toml", secrets());
  EXPECT_THAT(render_effective_config(config),
              HasSubstr("abort_incomplete_after_hours = 48\npresign_seconds = 3600\n"));
  config.store.presign = std::chrono::seconds{0};
  EXPECT_THAT(render_effective_config(config), HasSubstr("\npresign_seconds = 0\n"));
}

TEST(RenderEffectiveConfig, SaysWhichSecretsAreNotSet) {
  Config config = load_config_text(
      kBusyFile, "busy.toml",
      Environment({{"USER_EXPORT_KAFKA_SASL_PASSWORD", "x"}, {"USER_EXPORT_HASH_KEY", "y"}}));
  std::string text = render_effective_config(config);
  EXPECT_THAT(text, HasSubstr("# access_key: not set; set it with AWS_ACCESS_KEY_ID"));
  EXPECT_THAT(text, HasSubstr("# token: not set; set it with USER_EXPORT_ADMIN_TOKEN"));
}

TEST(RenderEffectiveConfig, LoadsBackToAnEqualConfig) {
  // The database password is the one secret the file may hold; give it through the
  // environment here so the redacted text can load back to the same URL.
  std::map<std::string, std::string> values = {
      {"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"},
      {"AWS_SECRET_ACCESS_KEY", "aws-secret-value"},
      {"USER_EXPORT_KAFKA_SASL_PASSWORD", "sasl-secret-value"},
      {"USER_EXPORT_ADMIN_TOKEN", "admin-secret-value"},
      {"USER_EXPORT_HASH_KEY", "hash-secret-value"},
      {"USER_EXPORT_DATABASE_URL", "postgresql://app:env-db-password@db/users"},
  };
  values["USER_EXPORT_KAFKA_SSL_KEY_PASSWORD"] = "property-secret";
  std::string file = kBusyFile;
  Config original = load_config_text(file, "busy.toml", Environment(values));
  std::string text = render_effective_config(original);
  Config reloaded = load_config_text(text, "busy.toml", Environment(values));
  EXPECT_EQ(reloaded, original) << text;
  EXPECT_EQ(reloaded.csv.columns.at(0).header, "Ref \"ID\"");
  EXPECT_EQ(reloaded.export_.instance_id, "node \"a\" \\ 1\ttab");
  EXPECT_EQ(reloaded.retry.multiplier, 1.7);
  EXPECT_THAT(text, Not(HasSubstr("env-db-password")));

  // Rendering is stable: the reloaded config renders to the same text.
  EXPECT_EQ(render_effective_config(reloaded), text);
}

TEST(RenderEffectiveConfig, ExampleRoundTrips) {
  Environment env({{"TMPDIR", "/scratch"}});
  Config original = load_config(UE_EXAMPLE_CONFIG, env);
  Config reloaded = load_config_text(render_effective_config(original), original.source_path, env);
  EXPECT_EQ(reloaded, original);
}

TEST(RenderEffectiveConfig, RedactedTextStillLoadsWithoutTheSecrets) {
  Config original = load_config_text(kBusyFile, "busy.toml", secrets());
  std::string text = render_effective_config(original);
  // Without the environment the SASL password and hash key are missing, and the check says so.
  try {
    load_config_text(text, "rendered.toml", Environment());
    FAIL() << "loaded without the secrets it needs";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("kafka.sasl_password: missing"));
    EXPECT_THAT(e.what(), HasSubstr("needs a key; set USER_EXPORT_HASH_KEY"));
  }
  Config reloaded = load_config_text(text, "busy.toml", secrets());
  EXPECT_EQ(reloaded.kafka.extra.at("ssl.key.password"), "property-secret");  // from the env
}

}  // namespace
}  // namespace user_export
