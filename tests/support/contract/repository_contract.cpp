// The fixture of the Repository contract and its helpers; the tests are in one file per topic
// (claim_contract.cpp, lease_contract.cpp, commit_contract.cpp, ...).
#include "support/contract/repository_contract.hpp"

#include <cstdio>

namespace user_export::testing {

using std::chrono::seconds;

int prune_contract_anchor();          // prune_contract.cpp
int staged_parts_contract_anchor();   // staged_parts_contract.cpp
int run_actions_contract_anchor();    // run_actions_contract.cpp
int inspection_contract_anchor();     // inspection_contract.cpp
int schema_contract_anchor();         // schema_contract.cpp
int claim_contract_anchor();          // claim_contract.cpp
int lease_contract_anchor();          // lease_contract.cpp
int commit_contract_anchor();         // commit_contract.cpp
int fencing_contract_anchor();        // fencing_contract.cpp
int outbox_contract_anchor();         // outbox_contract.cpp
int outbox_claims_contract_anchor();  // outbox_claims_contract.cpp
int stream_contract_anchor();         // stream_contract.cpp
int concurrency_contract_anchor();    // concurrency_contract.cpp
int runs_contract_anchor();           // runs_contract.cpp
int seed_contract_anchor();           // seed_contract.cpp
int batch_contract_anchor();          // batch_contract.cpp

int repository_contract_anchor() {
  // Links every part of the contract (one file per topic) wherever the contract is linked.
  return prune_contract_anchor() + staged_parts_contract_anchor() + run_actions_contract_anchor() +
         inspection_contract_anchor() + schema_contract_anchor() + claim_contract_anchor() +
         lease_contract_anchor() + commit_contract_anchor() + fencing_contract_anchor() +
         outbox_contract_anchor() + outbox_claims_contract_anchor() + stream_contract_anchor() +
         concurrency_contract_anchor() + runs_contract_anchor() + seed_contract_anchor() +
         batch_contract_anchor();
}

void PrintTo(const ContractBackend& backend, std::ostream* os) {
  *os << backend.name;
}

std::string contract_backend_name(const ::testing::TestParamInfo<ContractBackend>& info) {
  return info.param.name;
}

// ---- fixture ----

void RepositoryContract::SetUp() {
  db_ = GetParam().make();
  if (!db_) GTEST_SKIP() << GetParam().name << " backend is not available here";
  repo_ = db_->open(clock_);
  repo_->migrate();
  domain_ = uuid(1, 1);
}

std::string RepositoryContract::uuid(int kind, std::uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", 0xa0000000u + unsigned(kind),
                static_cast<unsigned long long>(n));
  return buf;
}

std::string RepositoryContract::quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string RepositoryContract::add_group(const std::string& domain, const std::string& type,
                                          bool active) {
  std::string id = uuid(2, next_id_++);
  db_->exec(
      "INSERT INTO matching_groups (id, domain_id, name, group_type, active, created_at) "
      "VALUES (" +
      quote(id) + ", " + quote(domain) + ", 'group " + id + "', " + quote(type) + ", " +
      (active ? "true" : "false") + ", '2025-01-01 00:00:00')");
  return id;
}

std::int64_t RepositoryContract::add_user(const std::string& group, bool sent) {
  const std::uint64_t n = next_id_++;
  const std::string ref = uuid(3, n);
  db_->exec(
      "INSERT INTO users (ref_id, username, email, phone, group_id, "
      "sent_to_matching_service, created_at) VALUES (" +
      quote(ref) + ", 'user" + std::to_string(n) + "', 'user" + std::to_string(n) +
      "@example.com', '+4915100000" + std::to_string(n % 10) + "', " + quote(group) + ", " +
      (sent ? "true" : "false") + ", '2025-03-04 05:06:07')");
  return std::stoll(*db_->query_one("SELECT id FROM users WHERE ref_id = " + quote(ref)));
}

bool RepositoryContract::is_sent(std::int64_t user_id) {
  return count("SELECT count(*) FROM users WHERE id = " + std::to_string(user_id) +
               " AND sent_to_matching_service") == 1;
}

int RepositoryContract::sent_among(const std::vector<std::int64_t>& ids) {
  int n = 0;
  for (auto id : ids) n += is_sent(id) ? 1 : 0;
  return n;
}

std::int64_t RepositoryContract::count(const std::string& sql) {
  return std::stoll(db_->query_one(sql).value_or("-1"));
}

ClaimRequest RepositoryContract::claim_request(const std::string& group, Slot slot,
                                               const std::string& owner) {
  ClaimRequest request;
  request.group_id = GroupId::parse(group);
  request.domain_id = DomainId::parse(domain_);
  request.slot = slot;
  request.owner = OwnerId(owner);
  request.lease = seconds{300};
  request.new_run_id = RunId(uuid(4, next_id_++));
  return request;
}

std::vector<std::int64_t> RepositoryContract::streamed_ids(const RunId& run_id) {
  struct Collect : RowHandler {
    std::vector<std::int64_t> ids;
    void on_row(RowView row) override { ids.push_back(std::stoll(std::string(*row[0]))); }
  } collect;
  repo_->stream_rows(run_id, {"id"}, collect);
  return collect.ids;
}

OutboundMessage RepositoryContract::message(const RunId& run_id, const std::string& payload) {
  OutboundMessage m;
  m.run_id = run_id;
  m.topic = "flairbit-users";
  m.key = "key-" + payload;
  m.payload = payload;
  m.headers = {{"runId", run_id.str()}, {"schemaVersion", "1.0"}, {"note", "Zoë, \"quoted\""}};
  return m;
}

void RepositoryContract::commit_run(const RunId& run_id, const std::string& owner,
                                    std::vector<OutboundMessage> messages, bool mark_sent) {
  CommitRequest request;
  request.run_id = run_id;
  request.owner = OwnerId(owner);
  request.attempt = repo_->find_run(run_id)->attempts;  // the latest claim's token
  request.mark_sent = mark_sent;
  request.messages = std::move(messages);
  repo_->commit(request);
}

ExportRun RepositoryContract::committed_run(const std::vector<std::string>& payloads) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "x"));
  std::vector<OutboundMessage> messages;
  for (const std::string& payload : payloads) messages.push_back(message(run.run_id, payload));
  commit_run(run.run_id, "x", std::move(messages));
  return run;
}

}  // namespace user_export::testing
