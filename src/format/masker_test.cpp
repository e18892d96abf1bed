#include "format/masker.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "format/hmac_sha256.hpp"

namespace user_export {
namespace {

using namespace std::literals;

std::string mask(MaskMode mode, std::string_view value, std::string key = "k") {
  Masker m({mode}, std::move(key));
  auto out = m.apply(0, value);
  EXPECT_TRUE(out.has_value());
  return out ? std::string(*out) : std::string("<null>");
}

/// Hex HMAC-SHA-256 computed with OpenSSL's one-shot HMAC(), independent of HmacSha256.
std::string reference_hmac(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return hex;
}

/// Number of UTF-8 characters if `s` is well-formed UTF-8, else -1.
long utf8_chars(std::string_view s) {
  long chars = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return -1;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    }
    i += n;
    ++chars;
  }
  return chars;
}

TEST(MaskerTest, NoneReturnsTheValueItself) {
  Masker m({MaskMode::kNone}, "");
  const std::string value = "john@example.com";
  auto out = m.apply(0, value);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->data(), value.data());
  EXPECT_EQ(*out, value);
}

TEST(MaskerTest, NullStaysNullInEveryMode) {
  Masker m({MaskMode::kNone, MaskMode::kRedact, MaskMode::kPartial, MaskMode::kHash}, "key");
  for (std::size_t c = 0; c < 4; ++c) EXPECT_FALSE(m.apply(c, std::nullopt)) << c;
}

TEST(MaskerTest, RedactReplacesEveryNonNullValue) {
  EXPECT_EQ(mask(MaskMode::kRedact, "john@example.com"), "[REDACTED]");
  EXPECT_EQ(mask(MaskMode::kRedact, ""), "[REDACTED]");
}

TEST(MaskerTest, PartialEmailKeepsFirstCharacterAndDomain) {
  EXPECT_EQ(mask(MaskMode::kPartial, "john@example.com"), "j***@example.com");
  EXPECT_EQ(mask(MaskMode::kPartial, "j@example.com"), "j***@example.com");
  EXPECT_EQ(mask(MaskMode::kPartial, "émile@example.fr"), "é***@example.fr");
  EXPECT_EQ(mask(MaskMode::kPartial, "😀user@example.org"), "😀***@example.org");
  // Split at the last @: a quoted local part may contain one.
  EXPECT_EQ(mask(MaskMode::kPartial, "\"a@b\"@example.com"), "\"***@example.com");
}

TEST(MaskerTest, PartialOtherValuesKeepFirstAndLastCharacter) {
  EXPECT_EQ(mask(MaskMode::kPartial, "+4915112345678"), "+************8");
  EXPECT_EQ(mask(MaskMode::kPartial, "abcde"), "a***e");
  EXPECT_EQ(mask(MaskMode::kPartial, "abcd"), "****");
  EXPECT_EQ(mask(MaskMode::kPartial, "abc"), "***");
  EXPECT_EQ(mask(MaskMode::kPartial, "a"), "*");
  EXPECT_EQ(mask(MaskMode::kPartial, ""), "");
  // Not emails: nothing before or after the @.
  EXPECT_EQ(mask(MaskMode::kPartial, "@host"), "@***t");
  EXPECT_EQ(mask(MaskMode::kPartial, "@ab"), "***");
  EXPECT_EQ(mask(MaskMode::kPartial, "name@"), "n***@");
}

TEST(MaskerTest, PartialCountsWholeUtf8Characters) {
  EXPECT_EQ(mask(MaskMode::kPartial, "Zürich"), "Z****h");
  EXPECT_EQ(mask(MaskMode::kPartial, "日本語です"), "日***す");
  EXPECT_EQ(mask(MaskMode::kPartial, "😀abc😀"), "😀***😀");
  EXPECT_EQ(mask(MaskMode::kPartial, "日本語"), "***");
  EXPECT_EQ(mask(MaskMode::kPartial, "ü"), "*");
  EXPECT_EQ(mask(MaskMode::kPartial, "Ünïcödé"), "Ü*****é");
}

TEST(MaskerTest, PartialTreatsInvalidBytesAsSingleCharacters) {
  EXPECT_EQ(mask(MaskMode::kPartial, "\xff\xfe"s + "abc"), "\xff***c");
  // A truncated 3-byte sequence at the end is two one-byte characters.
  EXPECT_EQ(mask(MaskMode::kPartial, "ab\xe6\x97"s), "****");
  EXPECT_EQ(mask(MaskMode::kPartial, "abcd\xe6\x97"s), "a****\x97");
}

TEST(MaskerTest, PartialNeverSplitsValidUtf8) {
  // Random strings mixing 1- to 4-byte characters: the result is valid UTF-8 with as many
  // characters as the input (non-email values) or keeps the domain (emails).
  const std::vector<std::string> alphabet = {"a", "Z",  "9",  " ", "+", "é", "ß",
                                             "ж", "日", "語", "€", "😀", "🚀", "𝄞"};
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    const int len = static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) value += alphabet[rng() % alphabet.size()];
    const std::string out = mask(MaskMode::kPartial, value);
    ASSERT_EQ(utf8_chars(out), utf8_chars(value)) << value << " -> " << out;
    if (utf8_chars(value) > 4) {
      EXPECT_NE(out.find('*'), std::string::npos);
      EXPECT_EQ(out.substr(0, 1), value.substr(0, 1));
    } else {
      EXPECT_EQ(out, std::string(static_cast<std::size_t>(utf8_chars(value)), '*'));
    }
  }
}

TEST(MaskerTest, HashMatchesRfc4231TestVectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(mask(MaskMode::kHash, "what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 1.
  EXPECT_EQ(mask(MaskMode::kHash, "Hi There", std::string(20, '\x0b')),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(MaskerTest, HashReusesItsKeyAcrossValues) {
  Masker m({MaskMode::kHash}, "Jefe");
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string value(rng() % 300, '\0');
    for (auto& c : value) c = static_cast<char>(rng());
    auto out = m.apply(0, value);
    ASSERT_TRUE(out);
    ASSERT_EQ(std::string(*out), reference_hmac("Jefe", value)) << i;
  }
  EXPECT_EQ(std::string(*m.apply(0, ""s)), reference_hmac("Jefe", ""));
}

TEST(MaskerTest, HmacAcceptsAnEmptyKey) {
  HmacSha256 h("");
  char hex[64];
  h.hex_digest("abc", hex);
  EXPECT_EQ(std::string(hex, 64), reference_hmac("", "abc"));
}

TEST(MaskerTest, CopiesHashIndependently) {
  Masker a({MaskMode::kHash}, "secret");
  Masker b = a;
  Masker c = std::move(a);
  const std::string expected = reference_hmac("secret", "alice@example.com");
  EXPECT_EQ(std::string(*b.apply(0, "alice@example.com"sv)), expected);
  EXPECT_EQ(std::string(*c.apply(0, "alice@example.com"sv)), expected);
  HmacSha256 h("secret");
  HmacSha256 h2 = h;
  EXPECT_EQ(h.digest("x"), h2.digest("x"));
}

TEST(MaskerTest, HashWithoutKeyIsAConfigErrorNamingTheVariable) {
  try {
    Masker m({MaskMode::kNone, MaskMode::kHash}, "");
    FAIL() << "expected Error(kConfig)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    EXPECT_NE(std::string(e.what()).find("USER_EXPORT_HASH_KEY"), std::string::npos);
  }
  EXPECT_NO_THROW(Masker({MaskMode::kPartial, MaskMode::kRedact}, ""));
}

TEST(MaskerTest, ForColumnsUsesEachColumnsMode) {
  std::vector<CsvColumn> cols = {{"ref_id", "", MaskMode::kNone},
                                 {"email", "", MaskMode::kPartial},
                                 {"phone", "", MaskMode::kRedact}};
  Masker m = Masker::for_columns(cols, "");
  EXPECT_EQ(m.columns(), 3u);
  EXPECT_EQ(*m.apply(0, "r1"sv), "r1");
  EXPECT_EQ(std::string(*m.apply(1, "bob@example.com"sv)), "b***@example.com");
  EXPECT_EQ(*m.apply(2, "+123456"sv), "[REDACTED]");
}

TEST(MaskerTest, ColumnOutOfRangeIsAnInternalError) {
  Masker m({MaskMode::kNone}, "");
  try {
    m.apply(1, "x"sv);
    FAIL() << "expected Error(kInternal)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
}

TEST(MaskerTest, ParsesAndNamesModes) {
  for (MaskMode mode : {MaskMode::kNone, MaskMode::kRedact, MaskMode::kPartial, MaskMode::kHash}) {
    EXPECT_EQ(parse_mask_mode(to_string(mode)), mode);
  }
  EXPECT_STREQ(to_string(MaskMode::kPartial), "partial");
  EXPECT_EQ(parse_mask_mode("HASH"), std::nullopt);
  EXPECT_EQ(parse_mask_mode(""), std::nullopt);
  EXPECT_EQ(parse_mask_mode("redacted"), std::nullopt);
}

}  // namespace
}  // namespace user_export
