#include "source/synthetic_data.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "common/error.hpp"

namespace user_export {
namespace {

/// splitmix64: a tiny, fast, well-mixed stream; one per user keeps users independent.
class Stream {
 public:
  Stream(std::uint64_t seed, std::uint64_t index, std::uint64_t salt)
      : state_(finalize(seed ^ finalize(index * 0x9e3779b97f4a7c15ULL + salt))) {}

  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return finalize(state_);
  }
  /// Uniform in [0, n).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

 private:
  static std::uint64_t finalize(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

constexpr std::uint64_t kUserSalt = 0x7573657273ULL;   // "users"
constexpr std::uint64_t kGroupSalt = 0x67726f7570ULL;  // "group"

struct Name {
  std::string_view display;
  std::string_view ascii;
};

constexpr std::array<Name, 24> kFirstNames{{
    {"Aarav", "aarav"},       {"Zoë", "zoe"},       {"José", "jose"},   {"Łukasz", "lukasz"},
    {"Søren", "soren"},       {"Ngozi", "ngozi"},   {"美咲", "misaki"}, {"Анна", "anna"},
    {"François", "francois"}, {"Seán", "sean"},     {"Priya", "priya"}, {"Mateo", "mateo"},
    {"Aiko", "aiko"},         {"Olivia", "olivia"}, {"Noah", "noah"},   {"Fatima", "fatima"},
    {"Chloé", "chloe"},       {"Björn", "bjorn"},   {"Ana", "ana"},     {"Liam", "liam"},
    {"Mei", "mei"},           {"Kwame", "kwame"},   {"Inês", "ines"},   {"Yusuf", "yusuf"},
}};

constexpr std::array<Name, 16> kLastNames{{
    {"Müller", "mueller"},
    {"da Silva", "dasilva"},
    {"Kowalski", "kowalski"},
    {"Nguyen", "nguyen"},
    {"O'Brien", "obrien"},
    {"Smith", "smith"},
    {"García", "garcia"},
    {"Okafor", "okafor"},
    {"田中", "tanaka"},
    {"Ivanova", "ivanova"},
    {"Dubois", "dubois"},
    {"Jensen", "jensen"},
    {"Patel", "patel"},
    {"Rossi", "rossi"},
    {"Kim", "kim"},
    {"Haddad", "haddad"},
}};

constexpr std::array<std::string_view, 16> kCities{
    "Bengaluru", "Mumbai", "São Paulo",        "Kraków", "東京",  "Zürich", "München", "New York",
    "Reykjavík", "Lagos",  "Washington, D.C.", "Québec", "Cairo", "Seoul",  "Paris",   "Berlin"};

constexpr std::array<std::string_view, 3> kMailDomains{"example.com", "example.org",
                                                       "mail.example.net"};

constexpr std::array<std::string_view, 10> kCountryCodes{"1",  "44", "49", "91",  "55",
                                                         "48", "81", "33", "234", "61"};

constexpr std::array<std::string_view, 4> kGenders{"female", "male", "non-binary",
                                                   "prefer not to say"};

constexpr std::array<std::string_view, 12> kInterests{"hiking",  "chess",       "cooking", "music",
                                                      "travel",  "photography", "yoga",    "gaming",
                                                      "reading", "football",    "dance",   "art"};

/// Bios that are legal text but hostile to naive CSV writers and spreadsheets.
constexpr std::array<std::string_view, 10> kHostileBios{
    "Hiker.\nCoffee lover.",         // LF inside a value
    "Windows line one\r\nline two",  // CRLF inside a value
    "She said \"hi\", then left.",   // quotes and a comma
    "tab\tseparated\tbio",           // tabs
    "=1+2",                          // formula
    "+1 for hiking",                 // formula-like
    "-- not a formula",              // formula-like
    "@mention me",                   // formula-like
    "🚀 coffee ☕ and 東京 trips",     // emoji and CJK
    "",                              // empty, which is not NULL
};

template <typename T, std::size_t N>
const T& pick(const std::array<T, N>& items, Stream& rng) {
  return items[rng.below(static_cast<std::uint32_t>(N))];
}

void append_uint(std::string& out, std::uint64_t value) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, res.ptr);
}

void append_digits(std::string& out, std::uint64_t value, int width) {
  char buf[24];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

/// Canonical text of the 128 bits `hi`:`lo` (most significant first).
void append_uuid_bits(std::string& out, std::uint64_t hi, std::uint64_t lo) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[36];
  int pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[pos++] = '-';
    const std::uint64_t word = i < 8 ? hi : lo;
    const auto byte = static_cast<unsigned>((word >> (8 * (7 - (i % 8)))) & 0xff);
    buf[pos++] = kHex[byte >> 4];
    buf[pos++] = kHex[byte & 0xf];
  }
  out.append(buf, sizeof buf);
}

constexpr std::uint64_t kVariantMask = 0x3fffffffffffffffULL;
constexpr std::uint64_t kVariantBits = 0x8000000000000000ULL;  // RFC 9562 variant

/// A random version-4 UUID.
void append_uuid_v4(std::string& out, std::uint64_t a, std::uint64_t b) {
  append_uuid_bits(out, (a & ~0xf000ULL) | 0x4000ULL, (b & kVariantMask) | kVariantBits);
}

/// A version-7 UUID: 48 bits of Unix milliseconds, then random bits. Ids made in time order
/// sort in that order, so a unique index on them grows at its right edge (fast bulk loads).
void append_uuid_v7(std::string& out, std::uint64_t unix_ms, std::uint64_t a, std::uint64_t b) {
  const std::uint64_t hi = (unix_ms << 16) | 0x7000ULL | (a & 0x0fffULL);
  append_uuid_bits(out, hi, (b & kVariantMask) | kVariantBits);
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void append_date(std::string& out, std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<std::uint64_t>(days - era * 146097);
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const std::uint64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::uint64_t month = mp < 10 ? mp + 3 : mp - 9;
  const auto year =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0));
  append_digits(out, year, 4);
  out.push_back('-');
  append_digits(out, month, 2);
  out.push_back('-');
  append_digits(out, day, 2);
}

void append_datetime(std::string& out, std::int64_t epoch_seconds) {
  append_date(out, epoch_seconds / 86400);
  const std::int64_t rest = epoch_seconds % 86400;
  out.push_back(' ');
  append_digits(out, static_cast<std::uint64_t>(rest / 3600), 2);
  out.push_back(':');
  append_digits(out, static_cast<std::uint64_t>(rest / 60 % 60), 2);
  out.push_back(':');
  append_digits(out, static_cast<std::uint64_t>(rest % 60), 2);
}

/// Starts a value: clears the buffer (keeping its capacity) and sets NULL-ness.
std::string& reset(SyntheticText& text, bool null) {
  text.value.clear();
  text.null = null;
  return text.value;
}

constexpr std::int64_t k2020 = 1'577'836'800;                   // 2020-01-01T00:00:00Z
constexpr std::int64_t kSignupSpanMs = 5LL * 365 * 86'400'000;  // sign-ups spread over 5 years
constexpr std::int64_t kDays1950 = -7305;                       // 1950-01-01
constexpr std::int64_t kDaysDobRange = 20819;                   // to 2006-12-31

}  // namespace

SyntheticData::SyntheticData(const SeedPlan& plan)
    : seed_(plan.random_seed),
      users_(plan.users),
      signup_step_ms_(
          std::max<std::int64_t>(1, kSignupSpanMs / std::max<std::int64_t>(1, plan.users))) {
  if (plan.users < 0) {
    throw Error(ErrorCode::kInvalidInput, "cannot seed a negative number of users (" +
                                              std::to_string(plan.users) +
                                              "); pass --users 0 or more");
  }
  if (plan.groups < 1) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot seed " + std::to_string(plan.groups) + " groups; pass --groups 1 or more");
  }
  groups_.reserve(static_cast<std::size_t>(plan.groups));
  for (int i = 0; i < plan.groups; ++i) {
    Stream rng(seed_, static_cast<std::uint64_t>(i), kGroupSalt);
    SyntheticGroup group;
    std::string id;
    append_uuid_v4(id, rng.next(), rng.next());
    group.id = GroupId::parse(id);
    group.domain_id = plan.domain_id;
    const bool cost_based = i % 2 == 0;
    group.group_type = cost_based ? "COST_BASED" : "NON_COST_BASED";
    group.name = std::string(kCities[static_cast<std::size_t>(i) % kCities.size()]) +
                 (cost_based ? " premium matches #" : " community matches #") +
                 std::to_string(i + 1);
    append_datetime(group.created_at, k2020 + 3600LL * i);
    groups_.push_back(std::move(group));
  }
}

void SyntheticData::fill_user(std::int64_t index, SyntheticUser& out) const {
  Stream rng(seed_, static_cast<std::uint64_t>(index), kUserSalt);
  const Name& first = pick(kFirstNames, rng);
  const Name& last = pick(kLastNames, rng);

  // Users sign up in id order, each inside its own time step, as in a real table; the ref id
  // is time-ordered (v7) from the same instant.
  const std::int64_t created_ms =
      k2020 * 1000 + index * signup_step_ms_ +
      static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(signup_step_ms_));
  out.ref_id.clear();
  append_uuid_v7(out.ref_id, static_cast<std::uint64_t>(created_ms), rng.next(), rng.next());

  out.username.clear();
  out.username.append(first.ascii).push_back('.');
  out.username.append(last.ascii);
  append_uint(out.username, static_cast<std::uint64_t>(index) + 1);

  const std::uint32_t email_roll = rng.below(100);
  std::string& email = reset(out.email, email_roll < 3);
  if (email_roll >= 3 && email_roll < 5) {
    // A quoted local part is legal (RFC 5322) and carries quotes and a comma into the CSV.
    email.append("\"").append(first.ascii).append(", ").append(last.ascii).append("\"@");
  } else {
    email.append(out.username).push_back('@');
  }
  email.append(pick(kMailDomains, rng));

  std::string& phone = reset(out.phone, rng.below(100) < 5);
  phone.push_back('+');
  phone.append(pick(kCountryCodes, rng));
  append_digits(phone, 1'000'000'000ULL + rng.next() % 9'000'000'000ULL, 10);

  out.group_index = static_cast<std::size_t>(index % static_cast<std::int64_t>(groups_.size()));
  out.created_at.clear();
  append_datetime(out.created_at, created_ms / 1000);

  out.has_profile = rng.below(100) >= 8;

  const std::uint32_t name_roll = rng.below(100);
  std::string& display = reset(out.display_name, name_roll < 3);
  if (name_roll < 5) {
    display.append(last.display).append(", ").append(first.display);
  } else if (name_roll < 7) {
    display.append(first.display).append(" \"The Rocket\" ").append(last.display);
  } else if (name_roll < 8) {
    display.append("=HYPERLINK(\"http://example.com\",\"").append(first.display).append("\")");
  } else if (name_roll < 9) {
    display.append(first.display).append("\t").append(last.display);
  } else if (name_roll < 10) {
    display.append(first.display).append(" 🚀");
  } else {
    display.append(first.display).append(" ").append(last.display);
  }

  reset(out.gender, rng.below(100) < 10).append(pick(kGenders, rng));

  std::string& dob = reset(out.date_of_birth, rng.below(100) < 5);
  append_date(dob, kDays1950 + static_cast<std::int64_t>(rng.next() % kDaysDobRange));

  reset(out.city, rng.below(100) < 5).append(pick(kCities, rng));

  const std::uint32_t bio_roll = rng.below(100);
  std::string& bio = reset(out.bio, bio_roll < 10);
  if (bio_roll < 30) {
    bio.append(pick(kHostileBios, rng));
  } else {
    bio.append("Loves ").append(pick(kInterests, rng)).append(" and ");
    bio.append(pick(kInterests, rng)).append(" in ").append(pick(kCities, rng)).push_back('.');
  }

  const std::uint32_t interest_roll = rng.below(100);
  std::string& interests = reset(out.interests, interest_roll < 5);
  if (interest_roll < 8) {
    interests.append("Sci-Fi \"classic\" films");
  } else {
    const std::uint32_t count = 1 + rng.below(4);
    for (std::uint32_t i = 0; i < count; ++i) {
      if (i > 0) interests.push_back(',');
      interests.append(pick(kInterests, rng));
    }
  }
}

}  // namespace user_export
