// The Repository's batch defaults, right for every backend: nothing is claimed in batches, and
// a batch's stream and commit are those of its runs one after the other. Also the checks every
// backend runs before a claim.
#include "source/repository.hpp"

#include "common/uuid.hpp"

namespace user_export {

void check_claim_request(const OwnerId& owner, std::chrono::seconds lease,
                         const RunId& new_run_id) {
  if (owner.empty()) {
    throw Error(ErrorCode::kInvalidInput, "claim needs a lease owner name; set the instance name");
  }
  if (lease.count() <= 0) {
    throw Error(ErrorCode::kInvalidInput, "claim needs a positive lease duration");
  }
  if (!Uuid::parse(new_run_id.view())) {
    throw Error(ErrorCode::kInvalidInput,
                "claim needs a UUID as new run id, got '" + new_run_id.str() + "'");
  }
}

void Outbox::check_message_claim(const OwnerId& owner, std::chrono::seconds lease) {
  if (owner.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                "claiming outbox messages needs a relay owner name; set the instance name");
  }
  if (lease.count() <= 0) {
    throw Error(ErrorCode::kInvalidInput,
                "claiming outbox messages needs a positive claim lease, got " +
                    std::to_string(lease.count()) + " s; pass one that covers a relay pass");
  }
}

std::vector<ExportRun> RunStore::claim_batch(const BatchClaimRequest&) {
  return {};
}

void RunStore::stream_batch(const std::vector<RunId>& run_ids,
                            const std::vector<std::string>& fields, BatchRowHandler& handler) {
  for (std::size_t i = 0; i < run_ids.size(); ++i) {
    handler.begin_run(i);
    stream_rows(run_ids[i], fields, handler);
  }
}

std::unique_ptr<OpenCommit> RunStore::begin_commit(const RunId&, const OwnerId&, int,
                                                   std::chrono::milliseconds) {
  return nullptr;
}

std::vector<std::optional<Error>> RunStore::commit_batch(
    const std::vector<CommitRequest>& requests) {
  std::vector<std::optional<Error>> outcomes;
  outcomes.reserve(requests.size());
  for (const CommitRequest& request : requests) {
    try {
      commit(request);
      outcomes.emplace_back();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kLeaseLost) throw;
      outcomes.emplace_back(e);
    }
  }
  return outcomes;
}

}  // namespace user_export
