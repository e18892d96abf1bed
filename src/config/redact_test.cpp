#include "config/redact.hpp"

#include <gtest/gtest.h>

namespace user_export {
namespace {

TEST(RedactUrlPassword, HidesThePasswordOfTheUserInfo) {
  EXPECT_EQ(redact_url_password("postgresql://app:s3cr%40t@db.internal:5432/users"),
            "postgresql://app:***@db.internal:5432/users");
  // An '@' inside the password: the host starts after the last '@' of the authority.
  EXPECT_EQ(redact_url_password("postgres://app:p@ss@db/users"), "postgres://app:***@db/users");
}

TEST(RedactUrlPassword, HidesPasswordQueryParameters) {
  EXPECT_EQ(redact_url_password("postgresql://db/users?sslmode=require&password=pw&x=1"),
            "postgresql://db/users?sslmode=require&password=***&x=1");
  EXPECT_EQ(redact_url_password("postgresql://db/users?sslpassword=pw"),
            "postgresql://db/users?sslpassword=***");
}

// libpq percent-decodes parameter names, so an encoded name is still a password.
TEST(RedactUrlPassword, ComparesParameterNamesAfterPercentDecoding) {
  EXPECT_EQ(redact_url_password("postgresql://u@db/users?pass%77ord=s3cret"),
            "postgresql://u@db/users?pass%77ord=***");
  EXPECT_EQ(redact_url_password("postgresql://db/users?%70%61ssword=a&sslpass%77ord=b&x=1"),
            "postgresql://db/users?%70%61ssword=***&sslpass%77ord=***&x=1");
  EXPECT_EQ(redact_url_password("postgresql://db/users?PASSWORD=a"),
            "postgresql://db/users?PASSWORD=***");
  EXPECT_EQ(redact_url_password("postgresql://u:pass%77ord@db/users"),
            "postgresql://u:***@db/users");
}

TEST(PercentDecode, DecodesValidEscapesAndKeepsTheRest) {
  EXPECT_EQ(percent_decode("pass%77ord"), "password");
  EXPECT_EQ(percent_decode("%2f%2F"), "//");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

TEST(RedactUrlPassword, KeepsUrlsWithoutPassword) {
  for (const char* url : {"postgresql://app@db/users", "sqlite:///var/lib/a.db", "postgresql://",
                          "postgresql://db/users?user=a:b@c", "not a url"}) {
    EXPECT_EQ(redact_url_password(url), url);
  }
}

TEST(RedactAccessKey, ShowsOnlyFourCharacters) {
  EXPECT_EQ(redact_access_key("AKIAIOSFODNN7EXAMPLE"), "AKIA…");
  EXPECT_EQ(redact_access_key("short"), "***");
}

TEST(IsSecretProperty, FlagsPasswordsAndKeysButNotFileLocations) {
  for (const char* name : {"sasl.password", "ssl.key.password", "ssl.key.pem",
                           "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config"}) {
    EXPECT_TRUE(is_secret_property(name)) << name;
  }
  for (const char* name : {"linger.ms", "ssl.key.location", "ssl.keystore.location", "ssl.ca.pem",
                           "ssl.certificate.pem", "sasl.kerberos.keytab"}) {
    EXPECT_FALSE(is_secret_property(name)) << name;
  }
}

}  // namespace
}  // namespace user_export
