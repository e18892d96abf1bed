#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/group.hpp"
#include "source/repository.hpp"

namespace user_export {

/// A generated text value that may be SQL NULL. Its buffer is reused from row to row.
struct SyntheticText {
  std::string value;  ///< the text (meaningless when `null`)
  bool null = false;  ///< whether the value is SQL NULL

  /// The value for binding: nullopt when NULL.
  std::optional<std::string_view> view() const {
    if (null) return std::nullopt;
    return std::string_view(value);
  }
};

/// One generated matching group, in the reference schema's text forms.
struct SyntheticGroup {
  GroupId id;              ///< deterministic for (seed, index)
  DomainId domain_id;      ///< the plan's domain
  std::string name;        ///< human-readable, sometimes with a comma
  std::string group_type;  ///< COST_BASED for even indexes, NON_COST_BASED for odd ones
  bool active = true;      ///< every generated group is active
  std::string created_at;  ///< `YYYY-MM-DD HH:MM:SS`
};

/// One generated user and its profile. Timestamps are `YYYY-MM-DD HH:MM:SS`, dates
/// `YYYY-MM-DD`. When `has_profile` is false no profile row is inserted and the profile fields
/// are unspecified.
struct SyntheticUser {
  std::string ref_id;           ///< time-ordered (version-7) UUID from created_at
  std::string username;         ///< ASCII, unique per (seed, index)
  SyntheticText email;          ///< sometimes NULL, sometimes a quoted local part with a comma
  SyntheticText phone;          ///< E.164 (`+` and up to 15 digits) or NULL
  std::size_t group_index = 0;  ///< index into SyntheticData::groups()
  std::string created_at;       ///< 2020 to 2024, increasing with the index
  bool has_profile = true;      ///< false for a share of users (no profile row at all)
  SyntheticText display_name;   ///< non-ASCII names; commas, quotes, tabs, a leading `=`
  SyntheticText gender;         ///< one of four values or NULL
  SyntheticText date_of_birth;  ///< between 1950 and 2006, or NULL
  SyntheticText city;           ///< e.g. São Paulo, Kraków, 東京, "Washington, D.C.", or NULL
  SyntheticText bio;            ///< LF, CRLF, tabs, quotes, emoji, formulas, empty, or NULL
  SyntheticText interests;      ///< comma-separated list, or NULL
};

/// Deterministic generator of realistic, partly hostile synthetic data for `seed` and `demo`
/// (shared by every backend, so all of them load the same values for the same plan).
///
/// Each user is a pure function of (random_seed, index), so rows can be generated in any order
/// or in parallel. fill_user() does no regex and, once the buffers of `out` have grown, no
/// allocation. Thread-safe: const methods may be called concurrently.
class SyntheticData {
 public:
  /// Validates the plan (users >= 0, groups >= 1; else Error(kInvalidInput)) and builds the
  /// groups.
  explicit SyntheticData(const SeedPlan& plan);

  /// The plan's groups, COST_BASED and NON_COST_BASED alternating by index.
  const std::vector<SyntheticGroup>& groups() const { return groups_; }
  /// The number of users to generate.
  std::int64_t user_count() const { return users_; }
  /// Fills `out` with user `index` (0 <= index < user_count()), reusing its buffers. Users are
  /// spread round-robin over the groups (group_index = index % groups).
  void fill_user(std::int64_t index, SyntheticUser& out) const;

 private:
  std::uint64_t seed_;
  std::int64_t users_;
  std::int64_t signup_step_ms_;  ///< time between two consecutive users' sign-ups
  std::vector<SyntheticGroup> groups_;
};

}  // namespace user_export
