#include <chrono>
#include <cstdio>
#include <string>

#include "storage/object_store.hpp"

namespace user_export {

std::string object_key_for(const std::string& prefix, const DomainId& domain, const GroupId& group,
                           Slot slot, const RunId& run_id, int attempt) {
  using namespace std::chrono;
  const auto day = floor<days>(slot);
  const year_month_day ymd{day};
  const hh_mm_ss time{slot - day};
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d-%02u-%02uT%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()));

  std::string trimmed = prefix;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  std::string key;
  if (!trimmed.empty()) key = trimmed + '/';
  key += domain.str() + '/' + group.str() + '/' + stamp + '/' + run_id.str() + ".attempt-" +
         std::to_string(attempt) + ".csv.gz";
  return key;
}

}  // namespace user_export
