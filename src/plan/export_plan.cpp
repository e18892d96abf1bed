#include "plan/export_plan.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "domain/message.hpp"
#include "storage/object_store.hpp"

namespace user_export {
namespace {

/// A run id of the width of every real one: id-list parts are cut by byte size, and the run id
/// is part of each message.
const RunId kPlaceholderRunId("00000000-0000-0000-0000-000000000000");

/// Counts the parts the id-list builder hands over.
class PartCounter final : public RowHandler {
 public:
  explicit PartCounter(IdListBuilder& builder) : builder_(builder) {}
  void on_row(RowView row) override {
    if (row.empty() || !row[0] || row[0]->empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  "a user of the group has no ref_id, so the export would fail; fix users.ref_id");
    }
    builder_.add(*row[0]);
  }

 private:
  IdListBuilder& builder_;
};

}  // namespace

ExportPlanner::ExportPlanner(const Config& config, Repository& repository,
                             std::string store_key_prefix)
    : config_(config), repository_(repository), store_key_prefix_(std::move(store_key_prefix)) {}

GroupPlan ExportPlanner::plan(const MatchingGroup& group, Slot slot) {
  GroupPlan out;
  out.group = group;
  const std::optional<ExportRun> resumed = repository_.unfinished_run(group.id);
  if (resumed) {
    out.resumes_run = resumed->run_id.str();
    out.users = repository_.claimed_users_remaining(resumed->run_id);
    slot = resumed->slot;
  } else {
    out.users = repository_.claimable_users(group.id);
  }
  GroupType type{};
  try {
    type = group.type();
  } catch (const Error& e) {
    out.error = e.what();
    return out;
  }
  if (type == GroupType::kCostBased) {
    out.messages = out.users > 0 ? 1 : 0;
    out.estimated_bytes = estimate_bytes(group.id, out.users);
    const std::string key = object_key_for(store_key_prefix_, group.domain_id, group.id, slot,
                                           resumed ? resumed->run_id : kPlaceholderRunId, 1);
    out.key_prefix = key.substr(0, key.rfind('/') + 1);
    for (const auto& column : config_.csv.columns) {
      if (column.mask != MaskMode::kNone) {
        out.masked_columns.push_back(
            {column.header.empty() ? column.source : column.header, to_string(column.mask)});
      }
    }
    return out;
  }
  try {
    out.messages = out.users > 0 ? id_list_parts(group, resumed, slot) : 0;
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

int ExportPlanner::id_list_parts(const MatchingGroup& group,
                                 const std::optional<ExportRun>& resumed, Slot slot) {
  // The exporter's own builder, so the parts are cut exactly where the export would cut them.
  MessageContext ctx{resumed ? resumed->run_id : kPlaceholderRunId,
                     group.domain_id,
                     group.id,
                     GroupType::kNonCostBased,
                     slot,
                     SystemTime{},
                     config_.messages.topic};
  IdListBuilder builder(ctx, config_.messages.max_message_bytes, [](OutboundMessage, int) {});
  PartCounter counter(builder);
  if (resumed) {
    repository_.stream_rows(resumed->run_id, {"ref_id"}, counter);
  } else {
    repository_.stream_claimable(group.id, {"ref_id"}, counter);
  }
  return builder.finish();
}

std::optional<std::int64_t> ExportPlanner::estimate_bytes(const GroupId& group,
                                                          std::int64_t users) {
  if (users == 0) return 0;
  FileRunTotals history = repository_.file_run_totals(group);
  if (history.rows == 0) history = repository_.file_run_totals(std::nullopt);
  if (history.rows == 0) return std::nullopt;
  const double per_row = static_cast<double>(history.bytes) / static_cast<double>(history.rows);
  return static_cast<std::int64_t>(std::llround(per_row * static_cast<double>(users)));
}

std::string plan_json(const std::vector<GroupPlan>& plans) {
  using nlohmann::json;
  json out = json::array();
  for (const auto& p : plans) {
    json masked = json::array();
    for (const auto& m : p.masked_columns)
      masked.push_back({{"column", m.column}, {"mask", m.mask}});
    out.push_back({
        {"groupId", p.group.id.str()},
        {"name", p.group.name},
        {"type", p.group.type_name},
        {"users", p.users},
        {"resumesRun", p.resumes_run ? json(*p.resumes_run) : json(nullptr)},
        {"estimatedBytes", p.estimated_bytes ? json(*p.estimated_bytes) : json(nullptr)},
        {"keyPrefix", p.key_prefix ? json(*p.key_prefix) : json(nullptr)},
        {"maskedColumns", masked},
        {"messages", p.messages},
        {"error", p.error.empty() ? json(nullptr) : json(p.error)},
    });
  }
  return out.dump();
}

void print_plan_table(std::ostream& out, const std::vector<GroupPlan>& plans) {
  out << fmt::format("{:<36}  {:<14}  {:>9}  {:>4}  {:>10}  {:<20}  {}\n", "group", "type", "users",
                     "msgs", "est. bytes", "masked", "key prefix");
  for (const auto& p : plans) {
    std::string masked;
    for (const auto& m : p.masked_columns) {
      masked += (masked.empty() ? "" : ",") + m.column + ":" + m.mask;
    }
    out << fmt::format(
        "{:<36}  {:<14}  {:>9}  {:>4}  {:>10}  {:<20}  {}\n", p.group.id.str(),
        p.group.type_name.substr(0, 14), p.users, p.messages,
        p.key_prefix ? (p.estimated_bytes ? std::to_string(*p.estimated_bytes) : "unknown") : "-",
        masked.empty() ? "-" : masked, p.key_prefix.value_or("-"));
    if (p.resumes_run) {
      out << "    resumes unfinished run " << *p.resumes_run << " with its " << p.users
          << " claimed users\n";
    }
    if (!p.error.empty()) out << "    error: " << p.error << "\n";
  }
}

}  // namespace user_export
