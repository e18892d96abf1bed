#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "domain/ids.hpp"
#include "domain/message.hpp"

namespace user_export {

/// The outbox: step 5, what relays claim, deliver and mark (docs/ARCHITECTURE.md, "Delivery
/// guarantees"). A role of Repository.
class Outbox {
 public:
  virtual ~Outbox() = default;

  /// A read-only listing (tests, tools): up to `limit` outbox messages that are pending and due
  /// (next attempt <= now), claimed or not, oldest first, with their outbox ids and attempt
  /// counts. A relay sends only what claim_messages() gave it.
  virtual std::vector<OutboundMessage> pending_messages(std::size_t limit) = 0;
  /// Step 5, for one relay among several sharing the outbox: in one statement or transaction,
  /// up to `limit` outbox messages that are pending, due (next attempt <= now) and not under a
  /// live claim (claim end > now, whoever holds it: two relays of one owner name must not share
  /// a message either), oldest first, claimed for `owner` until now + `lease`. Until the claim
  /// ends no other call returns them; mark_all_published and mark_dead_lettered end it,
  /// record_publish_failure releases it (the message is due again at its next attempt, for any
  /// relay). A claim that ran out (its relay died or stalled) may be taken by any relay, so
  /// delivery stays at-least-once. Throws Error(kInvalidInput) for an empty owner or a lease
  /// that is not positive. The claim stops before the first message whose payload would take
  /// the claimed payloads past `max_bytes` (the oldest one is claimed whatever its size), so a
  /// relay pass holds a bounded amount of memory however large the messages are.
  virtual std::vector<OutboundMessage> claim_messages(std::size_t limit, const OwnerId& owner,
                                                      std::chrono::seconds lease,
                                                      std::size_t max_bytes) = 0;
  /// claim_messages() without a byte bound.
  std::vector<OutboundMessage> claim_messages(std::size_t limit, const OwnerId& owner,
                                              std::chrono::seconds lease) {
    return claim_messages(limit, owner, lease, std::numeric_limits<std::size_t>::max());
  }
  /// `max_bytes` as the signed bound a database compares with.
  static std::int64_t claim_byte_bound(std::size_t max_bytes) {
    return static_cast<std::int64_t>(
        std::min<std::size_t>(max_bytes, std::numeric_limits<std::int64_t>::max()));
  }
  /// Throws Error(kInvalidInput) unless a claim of messages by `owner` for `lease` is
  /// well-formed (every backend's claim_messages() checks this first).
  static void check_message_claim(const OwnerId& owner, std::chrono::seconds lease);
  /// Ends the live claims of every owner for which `owner_is_dead` returns true (a relay
  /// process of this host that no longer exists), so a restart after a crash need not wait for
  /// them to run out. Returns how many messages were released.
  virtual std::int64_t release_message_claims(
      const std::function<bool(const OwnerId& owner)>& owner_is_dead) = 0;
  /// Number of outbox messages not yet delivered or dead-lettered.
  virtual std::int64_t pending_count() = 0;
  /// The messages were delivered, recorded in one transaction: their claims end, and each run
  /// whose last pending message is among them becomes `completed`. Messages no longer pending
  /// are left as they are (a relay repeating itself). An id the outbox does not hold throws
  /// Error(kInvalidInput) and marks none of them.
  virtual void mark_all_published(std::span<const std::int64_t> outbox_ids) = 0;
  /// mark_all_published of one message.
  void mark_published(std::int64_t outbox_id) { mark_all_published({&outbox_id, 1}); }
  /// The message was sent to the dead-letter topic for `reason`; it counts as done for the run
  /// and its claim ends.
  virtual void mark_dead_lettered(std::int64_t outbox_id, const std::string& reason) = 0;
  /// A delivery attempt failed retriably: attempts + 1, error kept, claim released, due again
  /// (for any relay) at `next_attempt`.
  virtual void record_publish_failure(std::int64_t outbox_id, const std::string& error,
                                      SystemTime next_attempt) = 0;
};

}  // namespace user_export
