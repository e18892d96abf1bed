#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "domain/run.hpp"
#include "source/repository.hpp"
#include "storage/object_store.hpp"

namespace user_export {

/// What verifying one finished run found.
struct RunCheck {
  ExportRun run;
  /// Each difference between what the run recorded and what is there, in words; empty when
  /// everything agrees.
  std::vector<std::string> differences;

  bool ok() const { return differences.empty(); }
};

class Counter;

/// `OK run R group G` or `FAIL run R group G: <difference>; <difference>`.
std::string describe(const RunCheck& check);

/// Reconciles finished runs with the database, the store and the outbox (docs/SERVICE.md,
/// "verify"). Only reads: the object is read back streamed (never held whole), the rows and
/// messages with the Repository's read-only methods.
///
/// For every run: its claimed users are marked sent (unless `export.mark_sent` is false, or an
/// operator re-exported the run), and every message of the run, replayed copies included, was
/// delivered (a pending or dead-lettered message is a difference). The content checks below
/// read the original messages; a replayed copy repeats one.
/// A file run (it has an object key): the object exists, its size and SHA-256 equal the run's
/// and its message's, the message names the run's key and row count, and the CSV's data rows
/// (header excluded when `csv.header`) equal the users claimed. An id-list run: its messages
/// are the parts 1..N of N, and the ref ids across them are the claimed users' ref ids, in
/// order.
class RunVerifier {
 public:
  /// Keeps references to all three.
  RunVerifier(const Config& config, Repository& repository, ObjectStore& store);

  /// Checks `run`. Failures to read (database, store unreachable) propagate as Error; an
  /// absent or damaged object is a difference, not an error.
  RunCheck check(const ExportRun& run);

 private:
  void check_marks(const ExportRun& run, RunCheck& out);
  void check_delivery(const std::vector<RunMessage>& messages, RunCheck& out);
  void check_file(const ExportRun& run, const std::vector<RunMessage>& messages, RunCheck& out);
  void check_id_list(const ExportRun& run, const std::vector<RunMessage>& messages, RunCheck& out);

  const Config& config_;
  Repository& repository_;
  ObjectStore& store_;
};

/// Checks each of `runs` with `verifier`, logs each failure as a warning naming run, group and
/// the differences, and counts it in `failures` when given (`meters::kVerifyFailures`). Returns the
/// checks in order.
std::vector<RunCheck> verify_runs(RunVerifier& verifier, const std::vector<ExportRun>& runs,
                                  Counter* failures);

}  // namespace user_export
