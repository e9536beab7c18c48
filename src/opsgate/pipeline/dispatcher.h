// File: opsgate/pipeline/dispatcher.h
//
// What happens to a decided request (docs/policy.md#in-chat), the same on every
// platform: deny and needs_mfa become a reply with the reason; needs_approval opens an
// approval request (approvals.h), which the connector shows to the approvers; allow
// runs the action and records its outcome and its rate-cap use. Connectors call this
// after the request's audit record (with the decision) is durable.
//
//   Dispatcher d({&authorizer, &desk, &audit, &clock, &log});
//   Reply r = d.Decided(message, principal, planned, "send `code NNNNNN`",
//                       [&](const auto& req, const auto& pending, const Reply& ask) {
//                         post(approvers_channel, ask);
//                         return std::string("the approvers in #ops-approvals");
//                       });
//
// No executor exists yet for any service (the AWS issue adds them): an allowed action
// is answered "allowed, not run" and its outcome is recorded as such.
//
// Thread-safety: safe to share; callbacks run on the calling thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/audit/sink.h"
#include "opsgate/core/clock.h"
#include "opsgate/pipeline/approvals.h"
#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/executor.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::pipeline {

// Tells a requester, wherever they asked from, what became of their request (approved
// and run, denied). Each connector registers its platform.
class Notifier {
 public:
  using Deliver = std::function<void(const PendingAction& to, const Reply& reply)>;
  // Before use; not thread-safe against Notify.
  void Register(std::string platform, Deliver deliver) {
    platforms_.emplace_back(std::move(platform), std::move(deliver));
  }
  // False when no connector serves the request's platform (any more).
  bool Notify(const PendingAction& to, const Reply& reply) const {
    for (const auto& [platform, deliver] : platforms_) {
      if (platform == to.platform) {
        deliver(to, reply);
        return true;
      }
    }
    return false;
  }

  // Announcements everyone concerned should see (break-glass starts and ends): each
  // connector posts them where it is configured to (Slack: a channel; the web chat:
  // every open session).
  using Announce = std::function<void(const Reply& reply)>;
  void RegisterAnnouncer(Announce announce) { announcers_.push_back(std::move(announce)); }
  void AnnounceToAll(const Reply& reply) const {
    for (const Announce& a : announcers_) {
      a(reply);
    }
  }

 private:
  std::vector<std::pair<std::string, Deliver>> platforms_;
  std::vector<Announce> announcers_;
};

class Dispatcher {
 public:
  struct Deps {
    Authorizer* authorizer = nullptr;
    ApprovalDesk* approvals = nullptr;  // null: needs_approval is answered as unavailable
    audit::AuditSink* audit = nullptr;
    const core::Clock* clock = nullptr;
    telemetry::Logger* log = nullptr;
    const Notifier* notifier = nullptr;  // null: requesters are not told about votes
  };
  // Shows an approval request to the approvers; returns where, for the requester
  // ("the approvers' channel"). Empty: it could not be shown.
  using AskApprovers =
      std::function<std::string(const store::ApprovalRequest&, const PendingAction&,
                                const policy::Approval& spec, const Reply& ask)>;

  explicit Dispatcher(Deps deps) : deps_(deps) {}

  // Runs `action` ("opsgate:BreakGlass") with `executor` once allowed. Before use; the
  // executor must outlive the dispatcher's use.
  void Register(std::string action, Executor* executor) {
    executors_.emplace_back(std::move(action), executor);
  }

  // REQUIRES: planned.decision is set (a linked principal asked for an action).
  // `step_up` tells the asker how to refresh MFA on this platform.
  Reply Decided(const Message& message, const Principal& principal, const Planned& planned,
                std::string_view step_up, const AskApprovers& ask_approvers);

  // A vote from `approver` on approval request `id`; when it releases the action, runs
  // it. Returns the reply for the voter; the requester is told through the Notifier
  // (and `for_requester` keeps what they were told; empty text when nothing). Audits
  // the vote, naming both principals.
  struct VoteOutcome {
    VoteResult vote;
    Reply for_voter;
    Reply for_requester;
  };
  VoteOutcome Vote(const Message& message, std::string_view id, const Principal& approver,
                   bool approve);

  // Closes approval requests whose time ran out, tells their requesters and records it.
  // The gateway calls it every few seconds.
  void SweepApprovals();

 private:
  // Runs an allowed action (today: none can run) and audits its outcome.
  // Runs an allowed action with its executor (or answers that none exists), records
  // its rate-cap use and its outcome.
  Reply Run(const ExecContext& context);

  Deps deps_;
  std::vector<std::pair<std::string, Executor*>> executors_;
};

}  // namespace opsgate::pipeline
