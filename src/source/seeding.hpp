#pragma once

#include <cstdint>
#include <functional>

#include "domain/ids.hpp"

namespace user_export {

/// Synthetic data for `seed` and `demo`.
struct SeedPlan {
  DomainId domain_id;
  std::int64_t users = 1000;
  int groups = 2;  ///< alternate COST_BASED, NON_COST_BASED; users spread evenly
  std::uint64_t random_seed = 1;
};

/// Called during long operations with (done, total).
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

/// Synthetic data. A role of Repository.
class Seeding {
 public:
  virtual ~Seeding() = default;

  /// Loads synthetic groups, users and profiles (demo and benchmarks), fast enough for millions
  /// of users. Reports progress through `progress` when given.
  virtual void seed(const SeedPlan& plan, const ProgressFn& progress) = 0;
};

}  // namespace user_export
