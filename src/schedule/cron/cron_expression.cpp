#include "schedule/cron/cron_expression.hpp"

#include <date/date.h>

#include <array>
#include <cctype>
#include <string>

#include "common/error.hpp"

namespace user_export {
namespace {

/// One of the six fields: its name in messages, its value range and its names (if any).
struct FieldSpec {
  const char* name;
  unsigned min;
  unsigned max;
  const char* const* names;  ///< `names[i]` stands for `names_base + i`; null when no names
  unsigned name_count;
  unsigned names_base;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
/// Spring numbers MON=1 ... SUN=7 (0 is Sunday too).
constexpr const char* kDayNames[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

constexpr FieldSpec kSecond{"second", 0, 59, nullptr, 0, 0};
constexpr FieldSpec kMinute{"minute", 0, 59, nullptr, 0, 0};
constexpr FieldSpec kHour{"hour", 0, 23, nullptr, 0, 0};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr, 0, 0};
constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames, 12, 1};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDayNames, 7, 1};

/// The macros and the six fields each stands for.
constexpr std::array<std::array<const char*, 2>, 7> kMacros{{
    {"@yearly", "0 0 0 1 1 *"},
    {"@annually", "0 0 0 1 1 *"},
    {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 0"},
    {"@daily", "0 0 0 * * *"},
    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
}};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Throws the parse error for `field`'s text `value`.
[[noreturn]] void fail(std::string_view expression, const FieldSpec& field, std::string_view value,
                       const std::string& reason) {
  throw Error(ErrorCode::kConfig, "invalid cron expression '" + std::string(expression) +
                                      "': " + field.name + " field '" + std::string(value) +
                                      "': " + reason);
}

/// Parses and validates one value (a number or, where the field has them, a name).
class FieldParser {
 public:
  FieldParser(std::string_view expression, const FieldSpec& field, std::string_view value)
      : expression_(expression), field_(field), value_(value) {}

  [[noreturn]] void fail(const std::string& reason) const {
    user_export::fail(expression_, field_, value_, reason);
  }

  std::string range_text() const {
    std::string text = std::to_string(field_.min) + "-" + std::to_string(field_.max);
    if (field_.names != nullptr) {
      text +=
          std::string(" or a name ") + field_.names[0] + "-" + field_.names[field_.name_count - 1];
    }
    return text;
  }

  unsigned value(std::string_view text) const {
    if (text.empty()) fail("a value is missing (expected " + range_text() + ")");
    if (field_.names != nullptr) {
      std::string name = upper(text);
      for (unsigned i = 0; i < field_.name_count; ++i) {
        if (name == field_.names[i]) return field_.names_base + i;
      }
    }
    unsigned n = 0;
    for (char c : text) {
      if (c < '0' || c > '9' || n > 1000) {
        fail("'" + std::string(text) + "' is not a number or name (expected " + range_text() + ")");
      }
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n < field_.min || n > field_.max) {
      fail("value " + std::to_string(n) + " is out of range (expected " + range_text() + ")");
    }
    return n;
  }

  unsigned number(std::string_view text, unsigned min, unsigned max, const char* what) const {
    unsigned n = 0;
    bool ok = !text.empty() && text.size() <= 4;
    for (char c : text) {
      if (c < '0' || c > '9') ok = false;
      if (ok) n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || n < min || n > max) {
      fail(std::string(what) + " '" + std::string(text) + "' must be a whole number from " +
           std::to_string(min) + " to " + std::to_string(max));
    }
    return n;
  }

  /// Sets the bits of one list item: `*`, `n`, `a-b`, each optionally followed by `/step`.
  template <std::size_t N>
  void set_item(std::string_view item, std::bitset<N>& bits, bool sunday_range_start) const {
    std::string_view range = item;
    unsigned step = 1;
    bool has_step = false;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      step = number(item.substr(slash + 1), 1, field_.max + 1, "step");
      has_step = true;
    }
    unsigned lo = field_.min;
    unsigned hi = field_.max;
    if (range != "*") {
      if (auto dash = range.find('-'); dash != std::string_view::npos) {
        lo = value(range.substr(0, dash));
        hi = value(range.substr(dash + 1));
        // As in Spring, Sunday (7) at the start of a range means 0: SUN-FRI is 0-5.
        if (sunday_range_start && lo == 7) lo = 0;
        if (lo > hi) {
          fail("range " + std::to_string(lo) + "-" + std::to_string(hi) +
               " is reversed; the start must not exceed the end");
        }
      } else {
        lo = value(range);
        hi = has_step ? field_.max : lo;
      }
    }
    for (unsigned v = lo; v <= hi; v += step) bits.set(v);
  }

 private:
  std::string_view expression_;
  const FieldSpec& field_;
  std::string_view value_;
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

template <std::size_t N>
std::bitset<N> parse_plain(std::string_view expression, const FieldSpec& field,
                           std::string_view value) {
  FieldParser parser(expression, field, value);
  std::bitset<N> bits;
  for (std::string_view item : split(value, ',')) {
    if (item.empty()) parser.fail("a list item is empty");
    parser.set_item(item, bits, false);
  }
  return bits;
}

std::vector<std::string_view> tokenize(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
  return tokens;
}

unsigned last_day(int year, unsigned month) {
  return static_cast<unsigned>(
      date::year_month_day_last{date::year{year} / date::month{month} / date::last}.day());
}

/// 0 = Sunday ... 6 = Saturday.
unsigned weekday_of(int year, unsigned month, unsigned day) {
  return date::weekday{date::year{year} / date::month{month} / date::day{day}}.c_encoding();
}

}  // namespace

CronExpression CronExpression::parse(std::string_view expression) {
  std::string expanded;
  std::vector<std::string_view> fields = tokenize(expression);
  if (fields.size() == 1 && fields[0].front() == '@') {
    std::string macro = lower(fields[0]);
    for (const auto& [name, six] : kMacros) {
      if (macro == name) expanded = six;
    }
    if (expanded.empty()) {
      throw Error(ErrorCode::kConfig,
                  "invalid cron expression '" + std::string(expression) + "': unknown macro '" +
                      std::string(fields[0]) +
                      "'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                      "@hourly, or six fields");
    }
    fields = tokenize(expanded);
  }
  if (fields.size() != 6) {
    throw Error(ErrorCode::kConfig,
                "invalid cron expression '" + std::string(expression) + "': it has " +
                    std::to_string(fields.size()) +
                    " fields; expected six (second minute hour day-of-month month day-of-week, "
                    "e.g. '0 59 20 * * *') or a macro such as @daily");
  }

  CronExpression cron;
  cron.seconds_ = parse_plain<60>(expression, kSecond, fields[0]);
  cron.minutes_ = parse_plain<60>(expression, kMinute, fields[1]);
  cron.hours_ = parse_plain<24>(expression, kHour, fields[2]);
  cron.months_ = parse_plain<13>(expression, kMonth, fields[4]);

  // Day of month: `?` alone, or a list of plain items and L, L-n, LW, nW.
  {
    std::string_view value = fields[3];
    FieldParser parser(expression, kDayOfMonth, value);
    if (value == "?") value = "*";
    for (std::string_view item : split(value, ',')) {
      std::string up = upper(item);
      if (item.empty()) parser.fail("a list item is empty");
      if (up.find('?') != std::string::npos) parser.fail("'?' must be the whole field");
      if (up == "L") {
        cron.day_of_month_rules_.push_back({DayOfMonthRule::Kind::kLastDay, 0});
      } else if (up == "LW") {
        cron.day_of_month_rules_.push_back({DayOfMonthRule::Kind::kLastWeekday, 0});
      } else if (up.rfind("L-", 0) == 0) {
        unsigned n = parser.number(std::string_view(up).substr(2), 1, 30, "offset of L-n");
        cron.day_of_month_rules_.push_back({DayOfMonthRule::Kind::kLastDay, n});
      } else if (up.size() > 1 && up.back() == 'W') {
        unsigned n =
            parser.number(std::string_view(up).substr(0, up.size() - 1), 1, 31, "day of nW");
        cron.day_of_month_rules_.push_back({DayOfMonthRule::Kind::kNearestWeekday, n});
      } else if (up.find_first_of("LW") != std::string::npos) {
        parser.fail("'" + std::string(item) + "' is not L, L-n, LW or nW");
      } else {
        parser.set_item(item, cron.days_of_month_, false);
      }
    }
  }

  // Day of week: `?` alone, or a list of plain items (0 and 7 are Sunday) and dL, d#n.
  {
    std::string_view value = fields[5];
    FieldParser parser(expression, kDayOfWeek, value);
    if (value == "?") value = "*";
    std::bitset<8> bits;
    for (std::string_view item : split(value, ',')) {
      if (item.empty()) parser.fail("a list item is empty");
      if (item.find('?') != std::string_view::npos) parser.fail("'?' must be the whole field");
      std::string up = upper(item);
      std::string_view sv = up;
      if (auto hash = sv.find('#'); hash != std::string_view::npos) {
        unsigned day = parser.value(sv.substr(0, hash)) % 7;
        unsigned nth = parser.number(sv.substr(hash + 1), 1, 5, "n of d#n");
        cron.day_of_week_rules_.push_back({DayOfWeekRule::Kind::kNthInMonth, day, nth});
      } else if (up == "L") {
        parser.fail("'L' needs a day before it, e.g. 5L or FRIL for the last Friday");
      } else if (up.size() > 1 && up.back() == 'L') {
        unsigned day = parser.value(sv.substr(0, sv.size() - 1)) % 7;
        cron.day_of_week_rules_.push_back({DayOfWeekRule::Kind::kLastInMonth, day, 0});
      } else {
        parser.set_item(item, bits, true);
      }
    }
    for (unsigned d = 0; d < 7; ++d) cron.days_of_week_[d] = bits[d];
    if (bits[7]) cron.days_of_week_.set(0);
  }
  return cron;
}

bool CronExpression::matches_date(int year, unsigned month, unsigned day) const {
  return matches_day_of_month(year, month, day) && matches_day_of_week(year, month, day);
}

bool CronExpression::matches_day_of_month(int year, unsigned month, unsigned day) const {
  if (days_of_month_.test(day)) return true;
  if (day_of_month_rules_.empty()) return false;
  const unsigned last = last_day(year, month);
  for (const DayOfMonthRule& rule : day_of_month_rules_) {
    switch (rule.kind) {
      case DayOfMonthRule::Kind::kLastDay:
        if (last > rule.value && day == last - rule.value) return true;
        break;
      case DayOfMonthRule::Kind::kLastWeekday: {
        unsigned wd = weekday_of(year, month, last);
        unsigned target = wd == 6 ? last - 1 : wd == 0 ? last - 2 : last;
        if (day == target) return true;
        break;
      }
      case DayOfMonthRule::Kind::kNearestWeekday: {
        // The Monday-Friday nearest to day n, never leaving the month; none if n > last.
        if (rule.value > last) break;
        unsigned n = rule.value;
        unsigned wd = weekday_of(year, month, n);
        unsigned target = n;
        if (wd == 6) target = n == 1 ? 3 : n - 1;
        if (wd == 0) target = n == last ? n - 2 : n + 1;
        if (day == target) return true;
        break;
      }
    }
  }
  return false;
}

bool CronExpression::matches_day_of_week(int year, unsigned month, unsigned day) const {
  const unsigned wd = weekday_of(year, month, day);
  if (days_of_week_.test(wd)) return true;
  for (const DayOfWeekRule& rule : day_of_week_rules_) {
    if (rule.weekday != wd) continue;
    if (rule.kind == DayOfWeekRule::Kind::kLastInMonth && day + 7 > last_day(year, month)) {
      return true;
    }
    if (rule.kind == DayOfWeekRule::Kind::kNthInMonth && (day - 1) / 7 + 1 == rule.nth) {
      return true;
    }
  }
  return false;
}

}  // namespace user_export
