// File: opsgate/store/policy_store.h
//
// Persistence for policy enforcement (issue 6, docs/policy.md): uses of rate-capped
// statements, and four-eyes approval requests with their votes. Both live in the store
// so that several replicas sharing one database see the same counts and approvals.
//
//   // after an allowed action ran:
//   rates.RecordUse(decision.rate_keys, now);
//   // the evaluator's RateCounter:
//   auto n = rates.CountSince("stmt|principal|iss|sub", now - 1h);
//
//   // a request that needs approval:
//   approvals.Create({.id = "K7Q3XZ", .action_hash = sha256(canonical), ...});
//   auto votes = approvals.AddVote({.request_id = "K7Q3XZ", .approver = "iss|bob", ...});
//   if (enough(*votes) && *approvals.Transition("K7Q3XZ", kPending, kApproved)) run();
//
// The store only keeps what the caller decided; what counts as enough approvals, who may
// vote and what an action hash covers is the caller's business (app/authorizer).
// Transition() is a compare-and-set, so of two replicas racing to run an approved action
// exactly one wins.
//
// Errors (every method): kUnavailable (store busy, I/O), kResourceExhausted (disk full),
// kDataLoss (corruption), kInvalidArgument (empty or oversized fields), and per method
// as documented. Callers fail closed.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::store {

// Uses of rate-capped policy statements (policy::Decision::rate_keys).
class RateEventStore {
 public:
  virtual ~RateEventStore() = default;
  // Records one use at `at` under each key, all or none (one transaction). Keys are
  // 1..1024 bytes; an empty list is a no-op.
  [[nodiscard]] virtual core::Status RecordUse(const std::vector<std::string>& keys,
                                               core::Clock::WallTime at) = 0;
  // Uses recorded under `key` at or after `since`.
  [[nodiscard]] virtual core::Result<uint64_t> CountSince(std::string_view key,
                                                          core::Clock::WallTime since) const = 0;
  // Deletes uses recorded before `before`; returns how many were deleted.
  [[nodiscard]] virtual core::Result<uint64_t> PruneBefore(core::Clock::WallTime before) = 0;
};

enum class ApprovalState {
  kPending,    // waiting for votes
  kApproved,   // enough approvals; the action may run (once)
  kDenied,     // an approver said no
  kExpired,    // nobody decided in time
  kCancelled,  // the requester withdrew it
};

// "pending", "approved", "denied", "expired", "cancelled".
std::string_view ApprovalStateName(ApprovalState state);

// One request waiting for other people's approval.
struct ApprovalRequest {
  // What people type and click: 1..32 bytes of [A-Z0-9]. Primary key.
  std::string id;
  // SHA-256 (32 raw bytes) of the canonical action approved: intent, slots, resolved
  // resources and the requester's context. The action runs only for this hash.
  std::string action_hash;
  // The requester's principal id ("issuer|subject"), 1..1024 bytes.
  std::string requester;
  // Distinct approvals needed, 1..100.
  uint32_t needed = 1;
  // Opaque to the store (the caller's JSON: the request to re-evaluate, where to answer),
  // at most 64 KiB.
  std::string payload;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};  // after created_at
  ApprovalState state = ApprovalState::kPending;
  // Set by Transition(): when the state last changed (created_at until then).
  core::Clock::WallTime updated_at{};
};

// One approver's answer.
struct ApprovalVote {
  std::string request_id;
  std::string approver;  // principal id, 1..1024 bytes
  bool approve = false;
  // Opaque to the store (the caller's JSON: the approver's groups and MFA time when they
  // voted), at most 16 KiB.
  std::string detail;
  core::Clock::WallTime at{};
};

class ApprovalStore {
 public:
  virtual ~ApprovalStore() = default;
  // Stores a new pending request. kAlreadyExists if the id is taken; kInvalidArgument
  // for a state other than kPending or expires_at not after created_at.
  [[nodiscard]] virtual core::Status Create(const ApprovalRequest& request) = 0;
  // The request with this id, or nullopt.
  [[nodiscard]] virtual core::Result<std::optional<ApprovalRequest>> Find(
      std::string_view id) const = 0;
  // Every vote on the request, oldest first (empty if none or no such request).
  [[nodiscard]] virtual core::Result<std::vector<ApprovalVote>> Votes(
      std::string_view request_id) const = 0;
  // Adds a vote, atomically checking that the request exists (else kNotFound), is
  // pending (else kFailedPrecondition "approval K7Q3XZ is denied"), has not expired at
  // vote.at (else kFailedPrecondition "... expired at ..."), and that this approver has
  // not voted on it yet (else kAlreadyExists). Returns every vote after adding, oldest
  // first.
  [[nodiscard]] virtual core::Result<std::vector<ApprovalVote>> AddVote(
      const ApprovalVote& vote) = 0;
  // Compare-and-set: moves the request from `from` to `to` and returns true; returns
  // false (changing nothing) if its state is not `from`. kNotFound if there is no such
  // request.
  [[nodiscard]] virtual core::Result<bool> Transition(std::string_view id, ApprovalState from,
                                                      ApprovalState to,
                                                      core::Clock::WallTime at) = 0;
  // Pending requests not expired at `now`, oldest first, at most `limit`.
  [[nodiscard]] virtual core::Result<std::vector<ApprovalRequest>> ListPending(
      core::Clock::WallTime now, size_t limit) const = 0;
  // Moves every pending request with expires_at <= now to kExpired and returns them
  // (as they are after the move), so the caller can tell the people concerned.
  [[nodiscard]] virtual core::Result<std::vector<ApprovalRequest>> ExpireDue(
      core::Clock::WallTime now) = 0;
};

// A break-glass elevation (docs/policy.md#break-glass): for a bounded time the principal
// holds the role `break-glass`, which policy statements may grant more to. It ends on its
// own at expires_at (or earlier, when ended), and must then be reviewed by someone else.
struct Elevation {
  std::string id;              // 1..32 of [A-Z0-9]; primary key
  std::string principal;       // the elevated principal id, 1..1024 bytes
  std::string principal_name;  // for people (email or subject), 0..1024 bytes
  std::string reason;          // why, as typed, 1..2000 bytes
  std::string correlation_id;  // of the request that started it, 0..256 bytes
  core::Clock::WallTime started_at{};
  core::Clock::WallTime expires_at{};  // after started_at
  // Set once it ended early (End) or was found expired (EndDue).
  std::optional<core::Clock::WallTime> ended_at;
  std::string ended_by;  // principal id, or "expiry"
  // The after-the-fact review: "" while pending, else "ok" or "misuse".
  std::string review;
  std::string reviewer;  // principal id
  std::optional<core::Clock::WallTime> reviewed_at;
  std::string review_note;  // 0..2000 bytes

  bool EndedAt(core::Clock::WallTime now) const { return ended_at.has_value() || now >= expires_at; }
};

class ElevationStore {
 public:
  virtual ~ElevationStore() = default;
  // Stores a new elevation. kAlreadyExists if the id is taken; kFailedPrecondition if
  // the principal already has one active at started_at (checked atomically);
  // kInvalidArgument for fields out of range, ended/reviewed fields set, or expires_at not
  // after started_at.
  [[nodiscard]] virtual core::Status Create(const Elevation& elevation) = 0;
  [[nodiscard]] virtual core::Result<std::optional<Elevation>> Find(std::string_view id) const = 0;
  // The principal's elevation active at `now` (started, not ended, not expired).
  [[nodiscard]] virtual core::Result<std::optional<Elevation>> Active(
      std::string_view principal, core::Clock::WallTime now) const = 0;
  // Ends it early; false if it had already ended (or expired). kNotFound if no such id.
  [[nodiscard]] virtual core::Result<bool> End(std::string_view id, core::Clock::WallTime at,
                                               std::string_view by) = 0;
  // Marks every elevation that expired by `now` and was not yet marked as ended (at its
  // expiry, by "expiry") and returns them as they are after the change.
  [[nodiscard]] virtual core::Result<std::vector<Elevation>> EndDue(core::Clock::WallTime now) = 0;
  // Records the review of an ended elevation: true when recorded; false if it was already
  // reviewed. kNotFound if no such id; kFailedPrecondition if it has not ended at `at`;
  // kInvalidArgument for a verdict other than "ok"/"misuse" or a note over 2000 bytes.
  [[nodiscard]] virtual core::Result<bool> Review(std::string_view id, std::string_view reviewer,
                                                  std::string_view verdict, std::string_view note,
                                                  core::Clock::WallTime at) = 0;
  // Ended (or expired by `now`) and not yet reviewed, oldest first, at most `limit`; with
  // a principal, only theirs.
  [[nodiscard]] virtual core::Result<std::vector<Elevation>> Unreviewed(
      core::Clock::WallTime now, size_t limit, std::string_view principal = {}) const = 0;
};

}  // namespace opsgate::store
