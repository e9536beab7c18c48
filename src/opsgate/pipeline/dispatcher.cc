#include "opsgate/pipeline/dispatcher.h"

#include <chrono>
#include <string>
#include <utility>

#include "opsgate/core/check.h"
#include "opsgate/core/strings.h"

namespace opsgate::pipeline {
namespace {

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Reply Dispatcher::Decided(const Message& message, const Principal& principal,
                          const Planned& planned, std::string_view step_up,
                          const AskApprovers& ask_approvers) {
  OPSGATE_CHECK(planned.decision.has_value() && planned.request.has_value());
  const policy::Decision& decision = *planned.decision;
  const ActionRequest& action = planned.understanding.request;
  switch (decision.effect) {
    case policy::Decision::Effect::kDeny:
      return DenyReply(decision, action);
    case policy::Decision::Effect::kNeedsMfa:
      return NeedsMfaReply(decision, action, step_up);
    case policy::Decision::Effect::kAllow:
      return Run({action, decision, principal.Id(),
                  principal.email.empty() ? principal.subject : principal.email,
                  message.correlation_id, message.platform, message.workspace_id,
                  message.reply_to.channel_id, message.user_id, message.reply_to.thread_id, nullptr,
                  message.reply_to.response_url});
    case policy::Decision::Effect::kNeedsApproval:
      break;
  }
  if (deps_.approvals == nullptr) {
    return Say(
        "This needs approval, but approvals are not available on this opsgate; "
        "nothing was done.");
  }
  auto opened = deps_.approvals->Open(message, action, *planned.request, decision);
  if (!opened) {
    deps_.log->Error("approval.open_failed", {{"error", opened.error().message},
                                              {"correlation_id", message.correlation_id}});
    return Say(
        "opsgate could not open an approval request right now; nothing was done. "
        "Try again.");
  }
  auto pending = DecodePendingAction(opened->request.payload);
  OPSGATE_CHECK(pending.has_value());  // just encoded by Open()
  const std::string requester = principal.email.empty() ? principal.subject : principal.email;
  const Reply ask = ApprovalRequestReply(opened->request, *pending, opened->spec, requester);
  std::string where = ask_approvers(opened->request, *pending, opened->spec, ask);
  if (where.empty()) {
    where = "the approvers (they can list pending requests with `approvals`)";
  }
  audit::Record r;
  r.kind = audit::RecordKind::kApproval;
  r.correlation_id = message.correlation_id;
  r.platform = message.platform;
  r.workspace = message.workspace_id;
  r.channel = message.reply_to.channel_id;
  r.user = message.user_id;
  r.principal = principal.Id();
  r.intent = action.intent;
  r.action = action.action;
  r.resource = action.resource;
  r.decision = "needs_approval";
  r.statement = decision.statement;
  r.result = "requested";
  r.reason = "approval " + opened->request.id +
             " opened: " + std::to_string(opened->request.needed) + " from " +
             opened->spec.approver_group;
  deps_.audit->Append(std::move(r), [](core::Result<uint64_t>) {});
  return ApprovalOpenedReply(opened->request, opened->spec, where);
}

Dispatcher::VoteOutcome Dispatcher::Vote(const Message& message, std::string_view id,
                                         const Principal& approver, bool approve) {
  VoteOutcome out;
  if (deps_.approvals == nullptr) {
    out.vote.message = "Approvals are not available on this opsgate.";
    out.for_voter = Say(out.vote.message);
    return out;
  }
  out.vote = deps_.approvals->Vote(id, approver, approve);
  const VoteResult& v = out.vote;
  audit::Record r;
  r.kind = audit::RecordKind::kApproval;
  r.correlation_id = v.pending ? v.pending->correlation_id : message.correlation_id;
  r.platform = message.platform;
  r.workspace = message.workspace_id;
  r.channel = message.reply_to.channel_id;
  r.user = message.user_id;
  r.principal = approver.Id();
  r.action = approve ? "opsgate:Approve" : "opsgate:Deny";
  r.resource = "opsgate:approval/" + std::string(id).substr(0, 32);
  switch (v.outcome) {
    case VoteResult::Outcome::kRecorded:
      r.result = "recorded";
      break;
    case VoteResult::Outcome::kApproved:
      r.result = "approved";
      break;
    case VoteResult::Outcome::kDenied:
      r.result = "denied";
      break;
    case VoteResult::Outcome::kRefused:
      r.result = "refused";
      break;
  }
  if (v.request) {
    r.reason = "requester " + v.request->requester + "; " + v.message;
  } else {
    r.reason = v.message;
  }
  if (v.outcome == VoteResult::Outcome::kApproved || v.outcome == VoteResult::Outcome::kDenied) {
    r.decision = std::string(policy::EffectName(v.decision.effect));
    r.statement = v.decision.statement;
  }
  deps_.audit->Append(std::move(r), [](core::Result<uint64_t>) {});
  out.for_voter = VoteReply(v);
  if (v.outcome == VoteResult::Outcome::kApproved) {
    const PendingAction& p = *v.pending;
    out.for_requester = Run({p.action, v.decision, p.request.principal.id, p.request.principal.user,
                             p.correlation_id, p.platform, p.workspace, p.channel, p.user_id,
                             p.thread, nullptr, ""});
    out.for_requester.text =
        "Request " + v.request->id + " was approved. " + out.for_requester.text;
    out.for_voter.Note("The requester was told.");
  } else if (v.outcome == VoteResult::Outcome::kDenied && v.pending) {
    out.for_requester = Say("Your request " + v.request->id + " (" + v.pending->action.action +
                            ") was not approved: " + v.message);
  }
  if (!out.for_requester.text.empty() && deps_.notifier != nullptr &&
      !deps_.notifier->Notify(*v.pending, out.for_requester)) {
    deps_.log->Warn("approval.requester_not_told",
                    {{"platform", v.pending->platform},
                     {"correlation_id", v.pending->correlation_id},
                     {"reason", "no connector serves the requester's platform"}});
  }
  return out;
}

void Dispatcher::SweepApprovals() {
  if (deps_.approvals == nullptr) {
    return;
  }
  auto expired = deps_.approvals->ExpireDue();
  if (!expired) {
    deps_.log->Warn("approval.sweep_failed", {{"error", expired.error().message}});
    return;
  }
  for (const ApprovalDesk::Expired& e : *expired) {
    const PendingAction& p = e.pending;
    audit::Record r;
    r.kind = audit::RecordKind::kApproval;
    r.correlation_id = p.correlation_id;
    r.platform = p.platform;
    r.workspace = p.workspace;
    r.channel = p.channel;
    r.user = p.user_id;
    r.principal = p.request.principal.id;
    r.intent = p.action.intent;
    r.action = p.action.action;
    r.resource = p.action.resource;
    r.statement = p.statement;
    r.result = "expired";
    r.reason = "approval " + e.id + " expired without enough approvals; nothing ran";
    deps_.audit->Append(std::move(r), [](core::Result<uint64_t>) {});
    if (deps_.notifier != nullptr) {
      (void)deps_.notifier->Notify(
          p, Say("Your request " + e.id + " (" + p.action.action +
                 ") expired without enough approvals; nothing ran. Ask again if it is "
                 "still needed."));
    }
  }
}

Reply Executor::Started(const ExecContext& context) {
  return Say("Working on it: " + context.action.action + " on " + context.action.resource +
             ". You will get the result here.");
}

Reply Dispatcher::Run(const ExecContext& context) {
  const ActionRequest& action = context.action;
  const policy::Decision& decision = context.decision;
  if (auto used = deps_.authorizer->RecordUse(decision, deps_.clock->Now()); !used) {
    deps_.log->Error("policy.rate_record_failed", {{"error", used.error().message},
                                                   {"correlation_id", context.correlation_id}});
  }
  Executor* executor = nullptr;
  for (const auto& [name, e] : executors_) {
    if (name == action.action) {
      executor = e;
      break;
    }
  }
  ExecResult result;
  if (executor == nullptr) {
    const std::string service = action.action.substr(0, action.action.find(':'));
    result.reply = NoExecutorReply(decision, action);
    result.result = "not_run";
    result.reason = "no executor for '" + service + "' is configured";
  } else if (executor->Slow() && deps_.slow_work != nullptr) {
    // The job owns copies of everything the context points to: the caller's objects are
    // gone by the time a worker runs it.
    struct Job {
      ActionRequest action;
      policy::Decision decision;
      PendingAction to;
      std::string principal_id, principal_name;
    };
    auto job = std::make_shared<Job>();
    job->action = action;
    job->decision = decision;
    job->to.action = action;
    job->to.correlation_id = context.correlation_id;
    job->to.platform = context.platform;
    job->to.workspace = context.workspace;
    job->to.channel = context.channel;
    job->to.thread = context.thread;
    job->to.user_id = context.user_id;
    job->to.response_url = context.response_url;
    job->principal_id = context.principal_id;
    job->principal_name = context.principal_name;
    const bool posted = deps_.slow_work->Post([this, executor, job] {
      const PendingAction& to = job->to;
      ExecContext ctx{job->action,       job->decision, job->principal_id, job->principal_name,
                      to.correlation_id, to.platform,   to.workspace,      to.channel,
                      to.user_id,        to.thread,     nullptr,           to.response_url};
      ctx.progress = [this, job](const Reply& r) {
        Reply interim = r;
        interim.progress = true;
        Tell(job->to, interim);
      };
      ExecResult done = executor->Run(ctx);
      RecordOutcome(ctx, done);
      Tell(job->to, done.reply);
    });
    if (posted) {
      return executor->Started(context);
    }
    result.reply =
        Say("opsgate is busy with other cloud actions right now; nothing was done. "
            "Try again in a minute.");
    result.result = "refused";
    result.reason = "busy: the action queue is full";
  } else {
    result = executor->Run(context);
  }
  RecordOutcome(context, result);
  return std::move(result.reply);
}

void Dispatcher::Tell(const PendingAction& to, const Reply& reply) const {
  if (deps_.notifier == nullptr || !deps_.notifier->Notify(to, reply)) {
    deps_.log->Warn("action.requester_not_told",
                    {{"platform", to.platform}, {"correlation_id", to.correlation_id}});
  }
}

namespace {

// What an executor reports goes into one audit record (at most audit::kMaxRecordBytes):
// each text is kept to 64 KiB, cut on a character boundary.
std::string Bounded(std::string text) {
  constexpr size_t kMax = 64 * 1024;
  if (text.size() <= kMax) {
    return text;
  }
  text.resize(kMax);
  return core::SanitizeUtf8(text) + " [truncated]";
}

}  // namespace

void Dispatcher::RecordOutcome(const ExecContext& context, const ExecResult& result) {
  const ActionRequest& action = context.action;
  const policy::Decision& decision = context.decision;
  audit::Record r;
  r.kind = audit::RecordKind::kOutcome;
  r.timestamp_ms = UnixMillis(deps_.clock->Now());
  r.correlation_id = context.correlation_id;
  r.platform = context.platform;
  r.workspace = context.workspace;
  r.channel = context.channel;
  r.user = context.user_id;
  r.principal = context.principal_id;
  r.intent = action.intent;
  r.action = action.action;
  r.resource = action.resource;
  r.decision = std::string(policy::EffectName(decision.effect));
  r.statement = decision.statement;
  r.result = result.result;
  r.reason = Bounded(result.reason);
  if (!result.session.empty()) {
    r.reason +=
        (r.reason.empty() ? "" : "; ") + std::string("role session ") + Bounded(result.session);
  }
  if (decision.session_duration) {
    r.reason += (r.reason.empty() ? "" : "; ") + std::string("session ") +
                std::to_string(decision.session_duration->count()) + "s";
  }
  if (!result.output.empty()) {
    r.output = audit::Field::Plain(Bounded(result.output));
  }
  deps_.audit->Append(std::move(r), [](core::Result<uint64_t>) {});
}

}  // namespace opsgate::pipeline
