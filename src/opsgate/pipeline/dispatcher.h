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
// An allowed action without an executor is answered "allowed, not run" and its outcome
// is recorded as such. A slow executor (AWS) runs on `slow_work` (a bounded pool): the
// asker is answered at once with Executor::Started(), and the result reaches them
// through the Notifier, after its outcome record; a full pool answers "busy" and
// records the refusal. Without `slow_work` every executor runs on the calling thread.
//
// Thread-safety: safe to share; callbacks run on the calling thread, or on a `slow_work`
// worker for slow executors (so `slow_work` must be shut down before the dispatcher
// is destroyed).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/audit/sink.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/work_queue.h"
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
    core::WorkQueue* slow_work = nullptr;  // null: slow executors run on the caller's thread
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
  // Runs an allowed action with its executor (or answers that none exists), records
  // its rate-cap use and its outcome.
  Reply Run(const ExecContext& context);
  void RecordOutcome(const ExecContext& context, const ExecResult& result);
  // Tells the requester (Notifier), or logs that nobody could be told.
  void Tell(const PendingAction& to, const Reply& reply) const;

  Deps deps_;
  std::vector<std::pair<std::string, Executor*>> executors_;
};

}  // namespace opsgate::pipeline
