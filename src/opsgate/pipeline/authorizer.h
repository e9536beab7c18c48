// File: opsgate/pipeline/authorizer.h
//
// The policy step of the request path (DESIGN.md §1, docs/policy.md): what a message
// asks for (Understand), whether the asker may (Authorizer::Decide), and what to tell
// them when not (DecisionReply). Connectors call these; they stay platform-neutral.
//
//   const Understanding u = Understand(message.text, env);
//   if (u.kind == Understanding::Kind::kCommand) {
//     const policy::Request req = authorizer.ToRequest(principal, u.request, message, now);
//     const policy::Decision d = authorizer.Decide(req);
//     ...audit d, then act on it...
//   }
//
// Built-ins map to opsgate actions (opsgate:WhoAmI, opsgate:Ping, opsgate:Unlink) and go
// through policy like every other action, except `help` and `link`: they reveal nothing
// and are how an unlinked person starts, so no policy can lock people out of them.
//
// Thread-safety: PolicyHolder and Authorizer are safe to share; the rest are values.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/audit/record.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/intents/command.h"
#include "opsgate/intents/intents.h"
#include "opsgate/pipeline/builtins.h"
#include "opsgate/pipeline/dialog.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"
#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/policy.h"
#include "opsgate/store/nlu_store.h"
#include "opsgate/store/policy_store.h"

namespace opsgate::pipeline {

// What a message asks opsgate to do, before policy.
struct ActionRequest {
  std::string intent;                        // "ec2.stop", or "builtin.whoami"
  std::map<std::string, std::string> slots;  // normalised values
  std::string action;                        // "ec2:StopInstances"
  std::string resource;                      // ARN or opsgate resource name; "" for built-ins
  bool destructive = false;
  // intents::CanonicalAction(): what an approval is bound to.
  std::string canonical;
  // The intent asks for a confirmation (dialog.h) and the person has not given it yet.
  bool needs_confirmation = false;
};

struct Understanding {
  enum class Kind {
    kBuiltin,        // help, whoami, ping, link, unlink (`builtin`, and `request` for policy)
    kCommand,        // an intent in command syntax with every required slot (`request`)
    kMissingSlots,   // an intent in command syntax without some required slots
    kInvalid,        // a known command written wrongly (`error` says what, `usage` how)
    kNotUnderstood,  // anything else
    kReply,          // the dialog answers (a question, did-you-mean, cancelled): `reply`
  };
  Kind kind = Kind::kNotUnderstood;
  Builtin builtin = Builtin::kUnknown;  // the built-in (kBuiltin); kUnknown otherwise
  ActionRequest request;
  std::vector<std::string> missing;
  std::string usage;
  std::string error;
  Reply reply;  // kReply
  // Set when the person got here by correcting an unsure guess of the classifier (a
  // "did you mean" choice): their original text, kept as a review candidate once they
  // confirm (dialog.h).
  std::string rephrased_text;
  std::string guessed;
  double guessed_confidence = 0;
};

struct UnderstandEnv {
  const intents::Catalogue* catalogue = nullptr;  // nullptr: built-ins only
  intents::CommandDefaults defaults;
  std::string account;  // AWS account id for resource ARNs; "" when unknown
  // Free text (dialog.h): null: only the command syntax is understood.
  Classify classify;
  // Dialog state (dialog.h): null: no dialogs (missing slots are reported, destructive
  // commands run without a confirmation step).
  store::DialogStore* dialogs = nullptr;
  std::chrono::seconds dialog_timeout = kDefaultDialogTimeout;
  // Confirmed rephrasings the classifier got wrong, for review (null: not kept), and how
  // their text is redacted before it is stored (null: as typed).
  store::NluCandidateStore* candidates = nullptr;
  std::function<std::string(std::string_view)> redact;
};

// A complete request for `intent` with these (normalised) slots.
Understanding CompleteRequest(const intents::IntentSpec& intent,
                              std::map<std::string, std::string> slots,
                              const UnderstandEnv& env);

Understanding Understand(std::string_view text, const UnderstandEnv& env);

// Whether a built-in runs without policy (help and link).
bool BuiltinBypassesPolicy(Builtin verb);

// The policy in force; SIGHUP replaces it.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const policy::Policy> initial)
      : policy_(std::move(initial)) {}
  std::shared_ptr<const policy::Policy> Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return policy_;
  }
  void Replace(std::shared_ptr<const policy::Policy> next) {
    std::lock_guard<std::mutex> lock(mu_);
    policy_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const policy::Policy> policy_;
};

// The built-in policy (policy.file unset): built-in commands for everyone, nothing else.
std::shared_ptr<const policy::Policy> BuiltinPolicy();

class Authorizer {
 public:
  // `rates` may be null: statements with rate caps then cannot be evaluated (deny).
  Authorizer(const PolicyHolder& policy, store::RateEventStore* rates)
      : policy_(policy), rates_(rates) {}

  // The policy's view of one request. The principal's user name is its email, or its
  // subject when the provider sent none; a message is direct when the platform said so.
  static policy::Request ToRequest(const Principal& principal, const ActionRequest& action,
                                   const Message& message, core::Clock::WallTime now);

  policy::Decision Decide(const policy::Request& request,
                          const std::vector<policy::ApprovalRecord>& approvals = {}) const;

  // The approval condition of the allow statement `id` in the current policy, if any.
  std::optional<policy::Approval> ApprovalOf(std::string_view statement_id) const;

  // After an allowed action ran: one use under each of the decision's rate keys.
  core::Status RecordUse(const policy::Decision& decision, core::Clock::WallTime at);

  // Break-glass (break_glass.h): a principal with an active elevation holds the role
  // `break-glass` in every decision. Before use; null (the default) turns it off.
  void SetElevations(const store::ElevationStore* elevations) { elevations_ = elevations; }
  // Adds the role to `request` when its principal is elevated at request.now. A store
  // error leaves the request as it is (no elevation: fail closed).
  void Elevate(policy::Request& request) const;

 private:
  const PolicyHolder& policy_;
  store::RateEventStore* rates_;
  const store::ElevationStore* elevations_ = nullptr;
};

// One message, understood and (when it asks for something) decided: what connectors
// audit before they act.
struct Planned {
  Understanding understanding;
  // Set when policy was asked: a linked principal and a command or a built-in that does
  // not bypass policy.
  std::optional<policy::Request> request;
  std::optional<policy::Decision> decision;
  // Policy is on, there is no principal, and the message is neither help nor link.
  bool needs_link = false;
};

// `principal` is nullopt for an unlinked asker; `authorizer` null means no policy
// (identity linking off: built-ins for everyone, no commands).
Planned Plan(const Message& message, const std::optional<Principal>& principal,
             const UnderstandEnv& env, const Authorizer* authorizer, core::Clock::WallTime now);

// Plan()'s second half: decides an Understanding already made (a confirmed request
// after an MFA step-up) for a linked principal; asks for the confirmation first when the
// request still needs one and is not refused outright.
Planned Decide(const Message& message, const Principal& principal, Understanding understood,
               const UnderstandEnv& env, const Authorizer& authorizer,
               core::Clock::WallTime now);

// Copies intent, slots, action, resource, decision, deciding statement and reason into an
// audit record (slots as a sealed-on-write field).
void DescribeForAudit(const Planned& planned, audit::Record& record);

// "allow", "deny", "needs_mfa", "needs_approval".
inline std::string_view DecisionName(const policy::Decision& d) { return EffectName(d.effect); }

// What the asker reads when the decision is deny or needs_mfa. `step_up` says how to
// refresh MFA on this platform ("send `code NNNNNN`", "run /ops link").
Reply DenyReply(const policy::Decision& decision, const ActionRequest& action);
Reply NeedsMfaReply(const policy::Decision& decision, const ActionRequest& action,
                    std::string_view step_up);
// A command written wrongly or missing slots (Understanding kInvalid / kMissingSlots).
Reply CommandProblemReply(const Understanding& understanding);
// Allowed, but nothing in this opsgate can run the action yet.
Reply NoExecutorReply(const policy::Decision& decision, const ActionRequest& action);

}  // namespace opsgate::pipeline
