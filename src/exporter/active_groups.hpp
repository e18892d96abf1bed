#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <set>

#include "domain/ids.hpp"

namespace user_export {

/// The groups this process is exporting right now. A group has at most one unfinished run, so
/// holding the group means holding its run: a process never runs two attempts of one run at
/// once, however the group was asked for twice (the same id twice on the command line, one id
/// stored in two letter cases, a scheduled slot overlapping a manual one). Across processes the
/// fencing token does that job (docs/ARCHITECTURE.md, "One writer per run"). Thread-safe.
class ActiveGroups {
 public:
  /// A group held by one export; released when destroyed.
  class Hold {
   public:
    Hold(ActiveGroups& owner, GroupId group) : owner_(&owner), group_(group) {}
    Hold(Hold&& other) noexcept : owner_(other.owner_), group_(other.group_) {
      other.owner_ = nullptr;
    }
    Hold& operator=(Hold&&) = delete;
    Hold(const Hold&) = delete;
    ~Hold() {
      if (owner_ != nullptr) owner_->release(group_);
    }

   private:
    ActiveGroups* owner_;
    GroupId group_;
  };

  /// How many groups are held now.
  std::size_t count() {
    std::lock_guard lock(mu_);
    return held_.size();
  }

  /// Holds `group` unless another export of this process holds it (then nullopt).
  std::optional<Hold> try_hold(const GroupId& group) {
    std::lock_guard lock(mu_);
    if (!held_.insert(group).second) return std::nullopt;
    return std::optional<Hold>(std::in_place, *this, group);
  }

 private:
  void release(const GroupId& group) {
    std::lock_guard lock(mu_);
    held_.erase(group);
  }

  std::mutex mu_;
  std::set<GroupId> held_;
};

}  // namespace user_export
