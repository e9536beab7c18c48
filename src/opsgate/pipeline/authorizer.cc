#include "opsgate/pipeline/authorizer.h"

#include <chrono>
#include <string>
#include <utility>

#include "opsgate/core/check.h"
#include "opsgate/pipeline/break_glass.h"
#include "opsgate/policy/builtin_policy.h"

namespace opsgate::pipeline {
namespace {

// Counts from the store, as of the request's time.
class StoreRateCounter final : public policy::RateCounter {
 public:
  StoreRateCounter(const store::RateEventStore& store, core::Clock::WallTime now)
      : store_(store), now_(now) {}
  core::Result<uint64_t> Count(std::string_view key, std::chrono::seconds window) const override {
    return store_.CountSince(key, now_ - window);
  }

 private:
  const store::RateEventStore& store_;
  core::Clock::WallTime now_;
};

ActionRequest BuiltinAction(Builtin verb) {
  ActionRequest a;
  switch (verb) {
    case Builtin::kHelp:
      a.intent = "builtin.help";
      a.action = "opsgate:Help";
      break;
    case Builtin::kWhoAmI:
      a.intent = "builtin.whoami";
      a.action = "opsgate:WhoAmI";
      break;
    case Builtin::kPing:
      a.intent = "builtin.ping";
      a.action = "opsgate:Ping";
      break;
    case Builtin::kLink:
      a.intent = "builtin.link";
      a.action = "opsgate:Link";
      break;
    case Builtin::kUnlink:
      a.intent = "builtin.unlink";
      a.action = "opsgate:Unlink";
      break;
    case Builtin::kUnknown:
      break;
  }
  a.canonical = a.intent;
  return a;
}

std::string SlotList(const std::map<std::string, std::string>& slots) {
  std::string out;
  for (const auto& [name, value] : slots) {
    out += (out.empty() ? "" : ", ") + name + "=" + value;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ActionFields(const ActionRequest& a) {
  std::vector<std::pair<std::string, std::string>> fields = {{"action", a.action}};
  if (!a.resource.empty()) {
    fields.emplace_back("resource", a.resource);
  }
  if (!a.slots.empty()) {
    fields.emplace_back("details", SlotList(a.slots));
  }
  return fields;
}

}  // namespace

bool BuiltinBypassesPolicy(Builtin verb) {
  return verb == Builtin::kHelp || verb == Builtin::kLink;
}

Understanding Understand(std::string_view text, const UnderstandEnv& env) {
  Understanding u;
  u.builtin = ParseBuiltin(text).verb;
  if (u.builtin != Builtin::kUnknown) {
    u.kind = Understanding::Kind::kBuiltin;
    u.request = BuiltinAction(u.builtin);
    return u;
  }
  if (auto glass = UnderstandBreakGlass(text)) {
    return std::move(*glass);
  }
  if (env.catalogue == nullptr) {
    return u;
  }
  auto parsed = intents::ParseCommand(*env.catalogue, text, env.defaults);
  if (!parsed) {
    u.kind = Understanding::Kind::kInvalid;
    u.error = parsed.error().message;
    return u;
  }
  if (!parsed->has_value()) {
    return u;  // not command syntax: free text (the classifier's job, issue 7)
  }
  const intents::ParsedCommand& cmd = **parsed;
  u.usage = intents::Usage(*cmd.intent);
  if (cmd.intent->name == "help") {
    u.kind = Understanding::Kind::kBuiltin;
    u.builtin = Builtin::kHelp;
    u.request = BuiltinAction(Builtin::kHelp);
    return u;
  }
  if (!cmd.missing.empty()) {
    u.kind = Understanding::Kind::kMissingSlots;
    u.missing = cmd.missing;
    u.request.intent = cmd.intent->name;
    u.request.slots = cmd.slots;  // what was given, for the dialog to complete
    return u;
  }
  Understanding complete = CompleteRequest(*cmd.intent, cmd.slots, env);
  complete.usage = std::move(u.usage);
  return complete;
}

Understanding CompleteRequest(const intents::IntentSpec& intent,
                              std::map<std::string, std::string> slots,
                              const UnderstandEnv& env) {
  Understanding u;
  u.kind = Understanding::Kind::kCommand;
  u.usage = intents::Usage(intent);
  intents::ParsedCommand cmd;
  cmd.intent = &intent;
  cmd.slots = std::move(slots);
  u.request.intent = intent.name;
  u.request.slots = cmd.slots;
  u.request.action = intent.action;
  u.request.resource = intents::ResourceFor(intent, cmd.slots, env.account);
  u.request.destructive = intent.destructive;
  u.request.canonical = intents::CanonicalAction(cmd, u.request.resource);
  u.request.needs_confirmation =
      env.dialogs != nullptr && intent.confirmation != intents::Confirmation::kNone;
  if (u.request.resource.empty()) {
    // ResourceFor refuses values that would widen the resource ('*', '?', braces).
    u.kind = Understanding::Kind::kInvalid;
    u.error = "a value in this command cannot name a resource (no wildcards); usage: " +
              u.usage;
  }
  return u;
}

Planned Plan(const Message& message, const std::optional<Principal>& principal,
             const UnderstandEnv& env, const Authorizer* authorizer, core::Clock::WallTime now) {
  Planned p;
  const bool conversational = authorizer != nullptr && principal.has_value() &&
                              (env.dialogs != nullptr || env.classify != nullptr);
  p.understanding =
      conversational ? Converse(message, env, now) : Understand(message.text, env);
  const Understanding& u = p.understanding;
  const bool bypass =
      u.kind == Understanding::Kind::kBuiltin && BuiltinBypassesPolicy(u.builtin);
  if (authorizer == nullptr || bypass) {
    return p;
  }
  if (!principal) {
    p.needs_link = true;  // an unlinked asker gets help and link only
    return p;
  }
  return Decide(message, *principal, std::move(p.understanding), env, *authorizer, now);
}

Planned Decide(const Message& message, const Principal& principal, Understanding understood,
               const UnderstandEnv& env, const Authorizer& authorizer,
               core::Clock::WallTime now) {
  Planned p;
  p.understanding = std::move(understood);
  const Understanding& u = p.understanding;
  const bool asks = u.kind == Understanding::Kind::kCommand ||
                    (u.kind == Understanding::Kind::kBuiltin && !BuiltinBypassesPolicy(u.builtin));
  if (!asks) {
    return p;
  }
  p.request = Authorizer::ToRequest(principal, u.request, message, now);
  authorizer.Elevate(*p.request);
  p.decision = authorizer.Decide(*p.request);
  if (u.request.needs_confirmation &&
      p.decision->effect != policy::Decision::Effect::kDeny) {
    // Not refused outright: ask for the confirmation first; the confirmed request is
    // decided (and recorded) again when it comes back.
    p.understanding = StartConfirmation(message, u, env, now);
    p.request.reset();
    p.decision.reset();
  }
  return p;
}

void DescribeForAudit(const Planned& planned, audit::Record& record) {
  const Understanding& u = planned.understanding;
  record.intent = u.request.intent;
  if (!u.request.action.empty()) {
    record.action = u.request.action;
  }
  if (!u.request.resource.empty()) {
    record.resource = u.request.resource;
  }
  if (!u.request.slots.empty()) {
    record.slots = audit::Field::Plain(audit::EncodeSlots(u.request.slots));
  }
  if (planned.decision) {
    record.decision = std::string(policy::EffectName(planned.decision->effect));
    record.statement = planned.decision->statement;
    record.reason = planned.decision->reason;
  } else if (planned.needs_link) {
    record.decision = "deny";
    record.reason = "not linked: only help and link work before linking";
  } else if (u.kind == Understanding::Kind::kReply && !u.request.intent.empty()) {
    // Nothing decided yet: opsgate asked a question (a value, a confirmation).
    record.reason = u.request.action.empty() ? "dialog: asked for a missing value"
                                             : "dialog: asked to confirm; decided once confirmed";
  }
}

std::shared_ptr<const policy::Policy> BuiltinPolicy() {
  static const std::shared_ptr<const policy::Policy> builtin = [] {
    auto parsed = policy::ParsePolicy(policy::kBuiltinPolicyYaml, "(built-in policy)");
    OPSGATE_CHECK(parsed.has_value());
    return std::make_shared<const policy::Policy>(std::move(*parsed));
  }();
  return builtin;
}

policy::Request Authorizer::ToRequest(const Principal& principal, const ActionRequest& action,
                                      const Message& message, core::Clock::WallTime now) {
  policy::Request r;
  r.principal.id = principal.Id();
  r.principal.user = principal.email.empty() ? principal.subject : principal.email;
  r.principal.groups = principal.groups;
  r.principal.roles = principal.roles;
  r.principal.mfa_at = principal.mfa_at;
  r.action = action.action;
  r.resource = action.resource;
  r.platform = message.platform;
  r.workspace = message.workspace_id;
  r.is_dm = message.is_direct;
  r.channel = message.is_direct ? std::string() : message.reply_to.channel_id;
  r.channel_external = message.channel_external;
  r.now = now;
  return r;
}

policy::Decision Authorizer::Decide(const policy::Request& request,
                                    const std::vector<policy::ApprovalRecord>& approvals) const {
  const std::shared_ptr<const policy::Policy> current = policy_.Current();
  std::optional<StoreRateCounter> counter;
  policy::EvalContext context;
  if (rates_ != nullptr) {
    context.rates = &counter.emplace(*rates_, request.now);
  }
  context.approvals = approvals;
  return policy::Evaluate(*current, request, context);
}

std::optional<policy::Approval> Authorizer::ApprovalOf(std::string_view statement_id) const {
  const std::shared_ptr<const policy::Policy> current = policy_.Current();
  for (const policy::Statement& s : current->statements) {
    if (s.id == statement_id) {
      return s.conditions.approval;
    }
  }
  return std::nullopt;
}

void Authorizer::Elevate(policy::Request& request) const {
  if (elevations_ == nullptr) {
    return;
  }
  auto active = elevations_->Active(request.principal.id, request.now);
  if (active && *active) {
    request.principal.roles.emplace_back(kBreakGlassRole);
  }
}

core::Status Authorizer::RecordUse(const policy::Decision& decision, core::Clock::WallTime at) {
  if (decision.rate_keys.empty() || rates_ == nullptr) {
    return {};
  }
  return rates_->RecordUse(decision.rate_keys, at);
}

Reply DenyReply(const policy::Decision& decision, const ActionRequest& action) {
  Reply r("Not allowed: " + decision.reason);
  r.Heading("Not allowed")
      .Text(decision.reason)
      .Fields(ActionFields(action))
      .Note("Decided by policy statement " + decision.statement +
            ". Nothing was done. If you need this, ask an opsgate administrator.");
  return r;
}

Reply NeedsMfaReply(const policy::Decision& decision, const ActionRequest& action,
                    std::string_view step_up) {
  Reply r("This needs a recent MFA confirmation: " + std::string(step_up));
  r.Heading("Confirm it is you")
      .Text(decision.reason)
      .Fields(ActionFields(action))
      .Text(std::string(step_up))
      .Note("Required by policy statement " + decision.statement + ". Nothing was done yet.");
  return r;
}

Reply CommandProblemReply(const Understanding& u) {
  if (u.kind == Understanding::Kind::kMissingSlots) {
    std::string missing;
    for (const std::string& m : u.missing) {
      missing += (missing.empty() ? "" : ", ") + m;
    }
    Reply r("Missing " + missing + ". Usage: " + u.usage);
    r.Text("I need " + missing + " for " + u.request.intent + ".").Code(u.usage);
    return r;
  }
  Reply r(u.error);
  r.Text(u.error);
  return r;
}

Reply NoExecutorReply(const policy::Decision& decision, const ActionRequest& action) {
  const std::string service = action.action.substr(0, action.action.find(':'));
  Reply r("Allowed, but this opsgate cannot run " + action.action + " yet; nothing was done.");
  r.Heading("Allowed, not run")
      .Fields(ActionFields(action))
      .Text("Policy allows it (statement " + decision.statement + "), but no executor for '" +
            service + "' is configured in this opsgate, so nothing was done.")
      .Note("The decision is in the audit log.");
  return r;
}

}  // namespace opsgate::pipeline
