// File: opsgate/pipeline/approvals.h
//
// Four-eyes approvals (issue 6 item 4, docs/policy.md#approvals-in-chat). A request the
// policy answers with needs_approval is opened as an ApprovalRequest in the store, bound
// to the SHA-256 of its canonical action (intent, slots, resolved resource) and of the
// exact policy request (principal, action, resource, platform, workspace, channel). Other
// people vote; each approve re-evaluates the stored request under the current policy
// with the approvals collected so far, and the action is released exactly once
// (a compare-and-set in the store) when the policy says allow.
//
//   ApprovalDesk desk(store, authorizer, clock, config.policy.approvals);
//   auto opened = desk.Open(message, principal, action, request, decision);
//   ... post opened->request.id with approve/deny buttons to the approvers ...
//   VoteResult v = desk.Vote("K7Q3XZ9A", approver, /*approve=*/true);
//   if (v.outcome == VoteResult::Outcome::kApproved) run(v.pending);
//
// Refused votes (VoteResult::kRefused, `message` says why, nothing changes): the
// requester approving their own request, an approver outside the approver group, an
// approver without MFA within approvals.approver_mfa_max_age, a second vote by the same
// person, a request that expired, was decided or was altered in the store (its payload
// no longer hashes to the approved hash).
//
// Thread-safety: safe to share; the store arbitrates between replicas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"
#include "opsgate/policy/evaluator.h"
#include "opsgate/store/policy_store.h"

namespace opsgate::pipeline {

// What an approval request carries (the store's payload, as JSON).
struct PendingAction {
  policy::Request request;  // the policy's view, as decided (its time is the request's)
  ActionRequest action;
  std::string statement;       // the statement that asked for approval
  std::string correlation_id;  // of the original request
  std::string platform;        // where to tell the requester
  std::string workspace;
  std::string channel;
  std::string thread;
  std::string user_id;
  // Transient, never stored (EncodePendingAction leaves it out): the asking message's
  // one-shot reply URL, for the result of an action started from it.
  std::string response_url;
};

// A fresh id people can read aloud and type: 8 characters of Crockford's base32
// (no I, L, O, U), 40 random bits. Errors: kUnavailable without random bytes.
core::Result<std::string> NewRequestId();

// A typed vote: "approve ID" or "deny ID" (case-insensitive words, the id upper-cased,
// at most 32 characters). nullopt for anything else.
struct VoteCommand {
  bool approve = false;
  std::string id;
};
std::optional<VoteCommand> ParseVoteCommand(std::string_view text);

// SHA-256 of what an approval binds: the canonical action and the policy request.
std::string ApprovalHash(const PendingAction& pending);

std::string EncodePendingAction(const PendingAction& pending);
core::Result<PendingAction> DecodePendingAction(std::string_view json);

struct VoteResult {
  enum class Outcome {
    kRecorded,  // counted; more approvals are needed
    kApproved,  // enough: run `pending` now (this caller won the release)
    kDenied,    // an approver said no, or the policy no longer allows it
    kRefused,   // not counted; `message` says why
  };
  Outcome outcome = Outcome::kRefused;
  std::string message;  // for the voter, human
  std::optional<store::ApprovalRequest> request;
  std::optional<PendingAction> pending;
  uint32_t approvals = 0;     // counted approvals after this vote
  policy::Decision decision;  // the re-evaluation (kApproved / kDenied by policy)
};

class ApprovalDesk {
 public:
  ApprovalDesk(store::ApprovalStore& store, const Authorizer& authorizer, const core::Clock& clock,
               config::ApprovalsConfig settings)
      : store_(store), authorizer_(authorizer), clock_(clock), settings_(std::move(settings)) {}

  struct Opened {
    store::ApprovalRequest request;
    policy::Approval spec;
  };
  // Stores a pending request for `decision` (needs_approval).
  core::Result<Opened> Open(const Message& origin, const ActionRequest& action,
                            const policy::Request& request, const policy::Decision& decision);

  VoteResult Vote(std::string_view id, const Principal& approver, bool approve);

  // The requester withdraws a pending request (only they may).
  core::Result<bool> Cancel(std::string_view id, const Principal& requester);

  // Pending, unexpired requests, oldest first.
  core::Result<std::vector<store::ApprovalRequest>> Pending(size_t limit);

  // Closes the pending requests whose time ran out and returns them, once each, so the
  // requesters can be told (Dispatcher::Sweep).
  struct Expired {
    std::string id;
    PendingAction pending;
  };
  core::Result<std::vector<Expired>> ExpireDue();

  const config::ApprovalsConfig& settings() const { return settings_; }

 private:
  store::ApprovalStore& store_;
  const Authorizer& authorizer_;
  const core::Clock& clock_;
  config::ApprovalsConfig settings_;
};

// What the approvers see: who asks for what, why approval is needed, the id and the
// buttons (values are the request id).
Reply ApprovalRequestReply(const store::ApprovalRequest& request, const PendingAction& pending,
                           const policy::Approval& spec, std::string_view requester_name);
// What the requester sees once the request is open.
Reply ApprovalOpenedReply(const store::ApprovalRequest& request, const policy::Approval& spec,
                          std::string_view where);
// What the voter sees.
Reply VoteReply(const VoteResult& result);

}  // namespace opsgate::pipeline
