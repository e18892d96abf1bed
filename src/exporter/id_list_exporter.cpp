#include "exporter/id_list_exporter.hpp"

#include "common/error.hpp"
#include "common/fault_point.hpp"
#include "common/time_format.hpp"
#include "exporter/claim_check.hpp"
#include "exporter/lease_keeper.hpp"
#include "observe/log.hpp"

namespace user_export {
namespace {

class RefIdHandler final : public RowHandler {
 public:
  RefIdHandler(IdListBuilder& builder, const LeaseKeeper& lease, const RunId& run_id)
      : builder_(builder), lease_(lease), run_id_(run_id) {}
  void on_row(RowView row) override {
    if (row.empty() || !row[0] || row[0]->empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  "run " + run_id_.str() + " has a claimed user without ref_id; fix users.ref_id");
    }
    builder_.add(*row[0]);
    if ((builder_.count() & 0x3ff) == 0) lease_.tick();
  }

 private:
  IdListBuilder& builder_;
  const LeaseKeeper& lease_;
  const RunId& run_id_;
};

}  // namespace

IdListExporter::IdListExporter(ExportDeps deps) : deps_(std::move(deps)) {}

ExportOutcome IdListExporter::export_run(const MatchingGroup& group, const ExportRun& run,
                                         const LeaseKeeper& lease) {
  MessageContext ctx{run.run_id,
                     group.domain_id,
                     group.id,
                     GroupType::kNonCostBased,
                     run.slot,
                     deps_.clock.now(),
                     deps_.config.messages.topic};
  // Each part is stored as soon as it is full, so memory holds one part, whatever the group's
  // size; only this attempt's commit makes the parts deliverable (docs/ARCHITECTURE.md,
  // "Id-list parts").
  IdListBuilder builder(
      ctx, deps_.config.messages.max_message_bytes, [&](OutboundMessage part, int number) {
        lease.tick();
        deps_.repository.stage_part(run.run_id, deps_.owner, run.attempts, number, part);
        fault_point("after_part");
      });
  RefIdHandler handler(builder, lease, run.run_id);
  deps_.repository.stream_rows(run.run_id, {"ref_id"}, handler);
  lease.tick();
  require_whole_claim_streamed(deps_.repository, group, run, builder.count());
  ExportOutcome outcome;
  outcome.rows = builder.count();
  outcome.staged_parts = builder.finish();
  log::info("staged id-list messages", {{"run_id", run.run_id},
                                        {"group_id", group.id.str()},
                                        {"slot", format_iso8601(SystemTime{run.slot})},
                                        {"ids", outcome.rows},
                                        {"messages", outcome.staged_parts}});
  return outcome;
}

}  // namespace user_export
