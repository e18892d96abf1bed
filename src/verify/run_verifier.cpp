#include "verify/run_verifier.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "format/csv_record_counter.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace user_export {
namespace {

using nlohmann::json;

constexpr const char* kFilePayload = "USERS_EXPORT_FILE";
constexpr const char* kIdListPayload = "USERS_EXPORT_REF_IDS";

std::string n(std::int64_t value) {
  return std::to_string(value);
}

/// The message's payload as JSON, or nullopt (and a difference) when it is not.
std::optional<json> parse_payload(const RunMessage& m, RunCheck& out) {
  json j = json::parse(m.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.differences.push_back("message " + n(m.seq) + " (outbox id " + n(m.outbox_id) +
                              ") is not a JSON object");
    return std::nullopt;
  }
  return j;
}

template <typename T>
std::optional<T> field(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

/// What reading the object back found.
/// True for an operator's replayed copy of a message (docs/OPERATIONS.md): it repeats an
/// original, so the content checks look at the originals only and delivery at all of them.
bool is_replay(const RunMessage& m) {
  for (const auto& [name, value] : m.headers) {
    if (name == kReplayHeader) return true;
  }
  return false;
}

struct ObjectFacts {
  std::int64_t bytes = 0;
  std::string sha256;
  std::optional<std::int64_t> records;  ///< nullopt when the gzip CSV could not be read
  std::string csv_problem;
};

}  // namespace

std::string describe(const RunCheck& check) {
  std::string line = (check.ok() ? "OK run " : "FAIL run ") + check.run.run_id.str() + " group " +
                     check.run.group_id.str();
  for (std::size_t i = 0; i < check.differences.size(); ++i) {
    line += (i == 0 ? ": " : "; ") + check.differences[i];
  }
  return line;
}

RunVerifier::RunVerifier(const Config& config, Repository& repository, ObjectStore& store)
    : config_(config), repository_(repository), store_(store) {}

RunCheck RunVerifier::check(const ExportRun& run) {
  RunCheck out;
  out.run = run;
  if (run.state != RunState::kCommitted && run.state != RunState::kCompleted) {
    out.differences.push_back(std::string("the run is ") + to_string(run.state) +
                              ", not committed or completed");
    return out;
  }
  std::vector<RunMessage> messages = repository_.run_messages(run.run_id);
  if (std::all_of(messages.begin(), messages.end(), is_replay)) {
    out.differences.push_back("the run has no message in the outbox");
  }
  check_marks(run, out);
  check_delivery(messages, out);
  // The content checks read the originals; dropped in place, the payloads are never copied.
  std::erase_if(messages, is_replay);
  if (!run.object_key.empty()) {
    check_file(run, messages, out);
  } else {
    check_id_list(run, messages, out);
  }
  return out;
}

void RunVerifier::check_marks(const ExportRun& run, RunCheck& out) {
  if (!config_.export_.mark_sent) return;  // the export leaves users unmarked on purpose
  for (const RunAction& action : repository_.run_actions(run.run_id)) {
    // An operator set this run's users back to unsent on purpose; a later run sends them.
    if (action.kind == RunActionKind::kReexport) return;
  }
  const std::int64_t marked = repository_.claimed_users_sent(run.run_id);
  if (marked != run.item_count) {
    out.differences.push_back(n(marked) + " of the " + n(run.item_count) +
                              " claimed users are marked sent");
  }
}

void RunVerifier::check_delivery(const std::vector<RunMessage>& messages, RunCheck& out) {
  for (const RunMessage& m : messages) {
    if (m.state == "published") continue;
    std::string what = "message " + n(m.seq) + " (outbox id " + n(m.outbox_id) + ") is " +
                       (m.state == "pending"         ? std::string("still pending, not delivered")
                        : m.state == "dead_lettered" ? std::string("dead-lettered, not delivered")
                                                     : "in state '" + m.state + "', not delivered");
    what += " after " + n(m.attempts) + " attempts";
    if (!m.last_error.empty()) what += " (last error: " + m.last_error + ")";
    out.differences.push_back(what);
  }
}

void RunVerifier::check_file(const ExportRun& run, const std::vector<RunMessage>& messages,
                             RunCheck& out) {
  // The file message: what the consumer was told.
  const RunMessage* file_message = nullptr;
  std::optional<json> payload;
  for (const RunMessage& m : messages) {
    auto j = parse_payload(m, out);
    if (j && field<std::string>(*j, "payload") == kFilePayload) {
      file_message = &m;
      payload = std::move(j);
      break;
    }
  }
  if (file_message == nullptr) {
    out.differences.push_back("no file message names the object");
  } else {
    const json& j = *payload;
    if (field<std::string>(j, "objectKey") != run.object_key) {
      out.differences.push_back("the message names object '" +
                                field<std::string>(j, "objectKey").value_or("") + "', the run '" +
                                run.object_key + "'");
    }
    if (field<std::int64_t>(j, "bytes") != run.bytes) {
      out.differences.push_back("the message says " +
                                n(field<std::int64_t>(j, "bytes").value_or(-1)) +
                                " bytes, the run " + n(run.bytes));
    }
    if (field<std::string>(j, "sha256") != run.sha256) {
      out.differences.push_back("the message's SHA-256 " +
                                field<std::string>(j, "sha256").value_or("(none)") +
                                " differs from the run's " + run.sha256);
    }
    if (field<std::int64_t>(j, "rowCount") != run.rows) {
      out.differences.push_back("the message says " +
                                n(field<std::int64_t>(j, "rowCount").value_or(-1)) +
                                " rows, the run " + n(run.rows));
    }
  }

  // The object, read back as the consumer would download it.
  ObjectFacts facts;
  Digest digest(Digest::Kind::kSha256);
  GzipCsvRecordCounter counter;
  try {
    store_.read(run.object_key, [&](std::string_view chunk) {
      facts.bytes += static_cast<std::int64_t>(chunk.size());
      digest.update(chunk);
      if (!facts.csv_problem.empty()) return;
      try {
        counter.feed(chunk);
      } catch (const Error& e) {
        facts.csv_problem = e.what();
      }
    });
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kStorage && !e.retriable() &&
        std::string(e.what()).find("is not in") != std::string::npos) {
      out.differences.push_back("object " + run.object_key + " is missing from the store");
      return;
    }
    throw;
  }
  facts.sha256 = to_hex(digest.finish());
  if (facts.csv_problem.empty()) {
    try {
      facts.records = counter.finish();
    } catch (const Error& e) {
      facts.csv_problem = e.what();
    }
  }
  if (facts.bytes != run.bytes) {
    out.differences.push_back("object " + run.object_key + " holds " + n(facts.bytes) +
                              " bytes, the run recorded " + n(run.bytes));
  }
  if (facts.sha256 != run.sha256) {
    out.differences.push_back("object " + run.object_key + " has SHA-256 " + facts.sha256 +
                              ", the run recorded " + run.sha256);
  }
  if (!facts.records) {
    out.differences.push_back("object " + run.object_key +
                              " cannot be read as gzip CSV: " + facts.csv_problem);
    return;
  }
  const std::int64_t header = config_.csv.header ? 1 : 0;
  const std::int64_t data_rows = std::max<std::int64_t>(0, *facts.records - header);
  if (data_rows != run.item_count) {
    out.differences.push_back("object " + run.object_key + " has " + n(data_rows) +
                              " data rows, the run claimed " + n(run.item_count) + " users");
  }
}

void RunVerifier::check_id_list(const ExportRun& run, const std::vector<RunMessage>& messages,
                                RunCheck& out) {
  // The parts, in seq order, each 1..N of N.
  const auto parts = static_cast<std::int64_t>(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto j = parse_payload(messages[i], out);
    if (!j) return;
    if (field<std::string>(*j, "payload") != kIdListPayload ||
        field<std::int64_t>(*j, "part") != static_cast<std::int64_t>(i + 1) ||
        field<std::int64_t>(*j, "parts") != parts) {
      out.differences.push_back("message " + n(messages[i].seq) + " is not id-list part " +
                                n(static_cast<std::int64_t>(i + 1)) + " of " + n(parts));
      return;
    }
  }

  // The ids across the parts against the claimed users' ref ids, both in user id order; one
  // part parsed at a time.
  struct Compare final : RowHandler {
    const std::vector<RunMessage>& messages;
    RunCheck& out;
    std::size_t message = 0;
    json ids = json::array();
    std::size_t next = 0;
    std::int64_t claimed = 0;
    std::int64_t consumed = 0;  ///< ids of the messages taken while streaming
    bool mismatch_reported = false;

    Compare(const std::vector<RunMessage>& m, RunCheck& o) : messages(m), out(o) {}

    /// The next id of the messages, or nullopt when there is none left.
    std::optional<std::string> next_id() {
      while (next >= ids.size()) {
        if (message >= messages.size()) return std::nullopt;
        const json j = json::parse(messages[message++].payload, nullptr, false);
        const auto it = j.find("refIds");
        ids = (it != j.end() && it->is_array()) ? *it : json::array();
        next = 0;
      }
      const json& id = ids[next++];
      return id.is_string() ? id.get<std::string>() : id.dump();
    }

    void on_row(RowView row) override {
      ++claimed;
      const std::string expected = row[0] ? std::string(*row[0]) : std::string();
      const auto got = next_id();
      if (got) ++consumed;
      if (got && *got != expected && !mismatch_reported) {
        out.differences.push_back("id " + std::to_string(claimed) + " of the messages is " + *got +
                                  ", the claimed user's ref id is " + expected);
        mismatch_reported = true;
      }
    }
  } compare(messages, out);
  repository_.stream_rows(run.run_id, {"ref_id"}, compare);
  std::int64_t carried = compare.consumed;
  while (compare.next_id()) ++carried;  // ids beyond the claimed users
  if (carried != run.item_count || compare.claimed != run.item_count) {
    out.differences.push_back("the messages carry " + n(carried) + " ids, the run claimed " +
                              n(run.item_count) + " users" +
                              (compare.claimed != run.item_count
                                   ? " (" + n(compare.claimed) + " of them still exist)"
                                   : std::string()));
  }
}

std::vector<RunCheck> verify_runs(RunVerifier& verifier, const std::vector<ExportRun>& runs,
                                  Counter* failures) {
  std::vector<RunCheck> checks;
  checks.reserve(runs.size());
  for (const ExportRun& run : runs) {
    RunCheck check = verifier.check(run);
    if (!check.ok()) {
      std::string differences;
      for (const auto& d : check.differences) differences += (differences.empty() ? "" : "; ") + d;
      log::warn(
          "run failed verification",
          {{"run_id", run.run_id}, {"group_id", run.group_id.str()}, {"differences", differences}});
      if (failures != nullptr) failures->inc();
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace user_export
