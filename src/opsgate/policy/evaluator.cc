#include "opsgate/policy/evaluator.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

namespace opsgate::policy {
namespace internal {

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using ListMap =
    std::unordered_map<std::string, std::vector<uint32_t>, TransparentHash, std::equal_to<>>;

// Statements that can match an action, by how their action patterns are written (keys
// folded to lower case). Each list is in file order; Evaluate() merges the four that
// apply to a request, so a statement is looked at only when one of its patterns can
// match the action.
struct ServiceIndex {
  ListMap exact;         // "ec2:stopinstances": literal service and operation
  ListMap by_service;    // "ec2": literal service, wildcard operation ("ec2:Describe*")
  ListMap by_operation;  // "stopinstances": wildcard service, literal operation
  std::vector<uint32_t> any;  // wildcards on both sides, and "*"
};

}  // namespace internal

namespace {

char Fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

template <class Names>
const Pattern* FirstMatch(const std::vector<Pattern>& patterns, const Names& names) {
  for (const auto& p : patterns) {
    for (const auto& n : names) {
      if (p.Matches(n)) {
        return &p;
      }
    }
  }
  return nullptr;
}

// Which principal pattern matched, as words; empty when none did.
std::string PrincipalMatch(const Statement& s, const RequestPrincipal& who) {
  for (const auto& p : s.principals.users) {
    if (p.Matches(who.user)) {
      return "user '" + who.user + "' (pattern '" + p.text() + "')";
    }
  }
  for (const auto& p : s.principals.groups) {
    for (const auto& g : who.groups) {
      if (p.Matches(g)) {
        return "group '" + g + "' (pattern '" + p.text() + "')";
      }
    }
  }
  for (const auto& p : s.principals.roles) {
    for (const auto& r : who.roles) {
      if (p.Matches(r)) {
        return "role '" + r + "' (pattern '" + p.text() + "')";
      }
    }
  }
  return "";
}

bool PrincipalMatches(const Statement& s, const RequestPrincipal& who) {
  for (const auto& p : s.principals.users) {
    if (p.Matches(who.user)) {
      return true;
    }
  }
  return FirstMatch(s.principals.groups, who.groups) != nullptr ||
         FirstMatch(s.principals.roles, who.roles) != nullptr;
}

const ActionPattern* ActionMatch(const Statement& s, std::string_view service,
                                 std::string_view op) {
  for (const auto& a : s.actions) {
    if (a.Matches(service, op)) {
      return &a;
    }
  }
  return nullptr;
}

const Pattern* ResourceMatch(const Statement& s, std::string_view resource) {
  for (const auto& r : s.resources) {
    if (r.Matches(resource)) {
      return &r;
    }
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string FormatSeconds(int64_t v) {
  if (v >= 3600 && v % 3600 == 0) {
    return std::to_string(v / 3600) + "h";
  }
  if (v >= 60 && v % 60 == 0) {
    return std::to_string(v / 60) + "m";
  }
  return std::to_string(v) + "s";
}

// Why a statement did not (fully) apply.
enum class Check {
  kOk,
  // Context conditions not met (the statement does not apply).
  kPlatform,
  kWorkspace,
  kDm,
  kChannel,
  kTime,
  kExternalChannel,
  // Cannot be evaluated (denies).
  kNoPlatform,
  kNoWorkspace,
  kNoChannel,
  kNoChannelPosture,
  kMfaInFuture,
  kNoRateCounter,
  kRateCounterError,
  // Allow conditions.
  kRateCapped,
  kNeedsMfa,
  kNeedsApproval,
};

bool Indeterminate(Check c) {
  return c == Check::kNoPlatform || c == Check::kNoWorkspace || c == Check::kNoChannel ||
         c == Check::kNoChannelPosture || c == Check::kMfaInFuture ||
         c == Check::kNoRateCounter || c == Check::kRateCounterError;
}

bool InWindow(const TimeWindow& w, int weekday, int minute) {
  const auto on = [&](int day) { return (w.days >> ((day + 7) % 7)) & 1u; };
  if (w.start_minute < w.end_minute) {
    return on(weekday) && minute >= w.start_minute && minute < w.end_minute;
  }
  return (on(weekday) && minute >= w.start_minute) || (on(weekday - 1) && minute < w.end_minute);
}

Check CheckContext(const Statement& s, const Request& r) {
  const Conditions& c = s.conditions;
  if (!c.platforms.empty()) {
    if (r.platform.empty()) {
      return Check::kNoPlatform;
    }
    if (!Contains(c.platforms, r.platform)) {
      return Check::kPlatform;
    }
  }
  if (!c.workspaces.empty()) {
    if (r.workspace.empty()) {
      return Check::kNoWorkspace;
    }
    if (!Contains(c.workspaces, r.workspace)) {
      return Check::kWorkspace;
    }
  }
  if (r.is_dm) {
    // Allows need allow_dm; a deny scoped to channels does not cover DMs, an unscoped
    // deny does.
    if (s.effect == Effect::kAllow ? !c.allow_dm : !c.channels.empty()) {
      return Check::kDm;
    }
  } else if (!c.channels.empty()) {
    if (r.channel.empty()) {
      return Check::kNoChannel;
    }
    if (!Contains(c.channels, r.channel)) {
      return Check::kChannel;
    }
  }
  if (!c.time_windows.empty()) {
    const int64_t secs =
        std::chrono::duration_cast<std::chrono::seconds>(r.now.time_since_epoch()).count();
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
      rem += 86400;
      --days;
    }
    const int weekday = static_cast<int>(((days + 3) % 7 + 7) % 7);  // 1970-01-01: Thursday
    const int minute = static_cast<int>(rem / 60);
    bool any = false;
    for (const auto& w : c.time_windows) {
      any = any || InWindow(w, weekday, minute);
    }
    if (!any) {
      return Check::kTime;
    }
  }
  // Last, so that an unknown posture makes a statement "cannot be evaluated" only when
  // everything else about the context holds. Allow only (ParsePolicy refuses it in a
  // deny; a deny built in code ignores it, which only widens the deny). A DM is a 1:1
  // with the bot, so it has no other members.
  if (c.channel_posture == ChannelPosture::kInternal && s.effect == Effect::kAllow && !r.is_dm) {
    if (!r.channel_external) {
      return Check::kNoChannelPosture;
    }
    if (*r.channel_external) {
      return Check::kExternalChannel;
    }
  }
  return Check::kOk;
}

// "channel 'C1'", or words for a request without a channel id.
std::string ChannelWords(const Request& r) {
  return r.channel.empty() ? std::string("the request's channel") : "channel '" + r.channel + "'";
}

Check CheckRates(const Statement& s, const Request& r, const EvalContext& ctx) {
  const Conditions& c = s.conditions;
  if (!c.per_principal && !c.total) {
    return Check::kOk;
  }
  if (ctx.rates == nullptr) {
    return Check::kNoRateCounter;
  }
  if (c.per_principal) {
    auto n = ctx.rates->Count(PrincipalRateKey(s.id, r.principal.id), c.per_principal->window);
    if (!n) {
      return Check::kRateCounterError;
    }
    if (*n >= c.per_principal->max) {
      return Check::kRateCapped;
    }
  }
  if (c.total) {
    auto n = ctx.rates->Count(TotalRateKey(s.id), c.total->window);
    if (!n) {
      return Check::kRateCounterError;
    }
    if (*n >= c.total->max) {
      return Check::kRateCapped;
    }
  }
  return Check::kOk;
}

size_t CountApprovals(const Approval& a, const Request& r, const EvalContext& ctx) {
  if (ctx.approvals.empty()) {
    return 0;
  }
  const std::string key = ApprovalKey(r);
  std::vector<std::string_view> approvers;
  for (const auto& rec : ctx.approvals) {
    if (rec.request_key != key || rec.approver_id.empty()) {
      continue;
    }
    if (a.requester_excluded && rec.approver_id == r.principal.id) {
      continue;
    }
    if (!Contains(rec.approver_groups, a.approver_group)) {
      continue;
    }
    if (std::find(approvers.begin(), approvers.end(), rec.approver_id) == approvers.end()) {
      approvers.push_back(rec.approver_id);
    }
  }
  return approvers.size();
}

Check CheckStepUps(const Statement& s, const Request& r, const EvalContext& ctx) {
  const Conditions& c = s.conditions;
  if (c.mfa_max_age) {
    if (!r.principal.mfa_at) {
      return Check::kNeedsMfa;
    }
    if (*r.principal.mfa_at > r.now + std::chrono::minutes(1)) {
      return Check::kMfaInFuture;
    }
    if (r.now - *r.principal.mfa_at > *c.mfa_max_age) {
      return Check::kNeedsMfa;
    }
  }
  if (c.approval && CountApprovals(*c.approval, r, ctx) < c.approval->count) {
    return Check::kNeedsApproval;
  }
  return Check::kOk;
}

std::string Explain(Check check, const Statement& s, const Request& r, const EvalContext& ctx) {
  const Conditions& c = s.conditions;
  switch (check) {
    case Check::kOk:
      return "";
    case Check::kPlatform:
      return "platform '" + r.platform + "' is not in its platforms";
    case Check::kWorkspace:
      return "workspace '" + r.workspace + "' is not in its workspaces";
    case Check::kDm:
      return s.effect == Effect::kAllow ? "direct messages are not allowed (allow_dm is false)"
                                        : "a direct message is outside its channels";
    case Check::kChannel:
      return "channel '" + r.channel + "' is not in its channel allow-list";
    case Check::kTime:
      return "the time is outside its time windows (UTC)";
    case Check::kExternalChannel:
      return ChannelWords(r) + " has external or guest members (channel_posture: internal)";
    case Check::kNoPlatform:
      return "the request has no platform but the statement lists platforms";
    case Check::kNoWorkspace:
      return "the request has no workspace but the statement lists workspaces";
    case Check::kNoChannel:
      return "the request has no channel but the statement has a channel allow-list";
    case Check::kNoChannelPosture:
      return "the platform did not say whether " + ChannelWords(r) +
             " has external or guest members (channel_posture: internal); mention the bot in "
             "the channel instead of using the slash command, or remove channel_posture from "
             "the statement";
    case Check::kMfaInFuture:
      return "the principal's MFA time is in the future (clock problem)";
    case Check::kNoRateCounter:
      return "it has rate caps but no rate counter was given";
    case Check::kRateCounterError:
      return "the rate counter failed";
    case Check::kRateCapped: {
      std::string out = "rate cap reached (";
      if (c.per_principal) {
        out += std::to_string(c.per_principal->max) + " per " +
               FormatSeconds(c.per_principal->window.count()) + " per principal";
      }
      if (c.total) {
        out += std::string(c.per_principal ? ", " : "") + std::to_string(c.total->max) + " per " +
               FormatSeconds(c.total->window.count()) + " in total";
      }
      return out + ")";
    }
    case Check::kNeedsMfa: {
      const std::string max = FormatSeconds(c.mfa_max_age->count());
      if (!r.principal.mfa_at) {
        return "an MFA step-up within " + max + " is required (no MFA on record)";
      }
      const auto age =
          std::chrono::duration_cast<std::chrono::seconds>(r.now - *r.principal.mfa_at).count();
      return "an MFA step-up within " + max + " is required (last MFA " + FormatSeconds(age) +
             " ago)";
    }
    case Check::kNeedsApproval:
      return "needs " + std::to_string(c.approval->count) + " approval(s) from group '" +
             c.approval->approver_group + "'" +
             (c.approval->requester_excluded ? " other than the requester" : "") + ", has " +
             std::to_string(CountApprovals(*c.approval, r, ctx));
  }
  return "";
}

// Walks candidate statements in file order: the merge of up to four sorted index lists,
// or every statement when there is no index.
class Candidates {
 public:
  explicit Candidates(size_t all) : all_(all) {}
  void Add(const std::vector<uint32_t>* list) {
    if (list != nullptr && !list->empty()) {
      lists_[count_++] = list;
    }
  }
  bool Next(size_t* out) {
    if (all_ != 0) {
      if (next_all_ >= all_) {
        return false;
      }
      *out = next_all_++;
      return true;
    }
    uint32_t best = UINT32_MAX;
    for (size_t l = 0; l < count_; ++l) {
      if (pos_[l] < lists_[l]->size()) {
        best = std::min(best, (*lists_[l])[pos_[l]]);
      }
    }
    if (best == UINT32_MAX) {
      return false;
    }
    for (size_t l = 0; l < count_; ++l) {
      if (pos_[l] < lists_[l]->size() && (*lists_[l])[pos_[l]] == best) {
        ++pos_[l];
      }
    }
    *out = best;
    return true;
  }

 private:
  size_t all_;  // nonzero: no index, visit 0..all_-1
  size_t next_all_ = 0;
  std::array<const std::vector<uint32_t>*, 4> lists_{};
  std::array<size_t, 4> pos_{};
  size_t count_ = 0;
};

template <class Map>
const std::vector<uint32_t>* Find(const Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

std::string WhatMatched(const Statement& s, const Request& r, std::string_view service,
                        std::string_view op) {
  const ActionPattern* a = ActionMatch(s, service, op);
  const Pattern* res = ResourceMatch(s, r.resource);
  return PrincipalMatch(s, r.principal) + ", action '" + r.action + "' (pattern '" +
         (a ? a->text : std::string()) + "'), resource '" + r.resource + "' (pattern '" +
         (res ? res->text() : std::string()) + "')";
}

Decision Make(Decision::Effect effect, std::string statement, std::string reason) {
  Decision d;
  d.effect = effect;
  d.statement = std::move(statement);
  d.reason = std::move(reason);
  return d;
}

}  // namespace

void Policy::Compile() {
  auto built = std::make_shared<internal::ServiceIndex>();
  auto add = [](std::vector<uint32_t>& list, uint32_t i) {
    if (list.empty() || list.back() != i) {
      list.push_back(i);
    }
  };
  for (uint32_t i = 0; i < statements.size(); ++i) {
    for (const auto& a : statements[i].actions) {
      std::string folded;
      for (char c : a.text) {
        folded += Fold(c);
      }
      const size_t colon = folded.find(':');
      const bool wild_service = colon == std::string::npos || a.service.has_wildcards();
      const bool wild_op = colon == std::string::npos || a.operation.has_wildcards();
      if (!wild_service && !wild_op) {
        add(built->exact[folded], i);
      } else if (!wild_service) {
        add(built->by_service[folded.substr(0, colon)], i);
      } else if (!wild_op) {
        add(built->by_operation[folded.substr(colon + 1)], i);
      } else {
        add(built->any, i);
      }
    }
  }
  index = std::move(built);
}

std::string_view EffectName(Decision::Effect effect) {
  switch (effect) {
    case Decision::Effect::kAllow:
      return "allow";
    case Decision::Effect::kDeny:
      return "deny";
    case Decision::Effect::kNeedsMfa:
      return "needs_mfa";
    case Decision::Effect::kNeedsApproval:
      return "needs_approval";
  }
  return "deny";
}

std::string ApprovalKey(const Request& r) {
  std::string key = "v1";
  for (const std::string* f :
       {&r.principal.id, &r.action, &r.resource, &r.platform, &r.workspace, &r.channel}) {
    key += '|' + std::to_string(f->size()) + ':' + *f;
  }
  key += r.is_dm ? "|dm" : "|ch";
  return key;
}

std::string PrincipalRateKey(std::string_view statement_id, std::string_view principal_id) {
  return std::string(statement_id) + "|principal|" + std::string(principal_id);
}

std::string TotalRateKey(std::string_view statement_id) {
  return std::string(statement_id) + "|total";
}

Decision Evaluate(const Policy& policy, const Request& r, const EvalContext& ctx) {
  const size_t colon = r.action.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == r.action.size()) {
    return Make(Decision::Effect::kDeny, std::string(kDefaultDenyId),
                "malformed action '" + r.action + "' (expected service:Operation)");
  }
  const std::string_view service = std::string_view(r.action).substr(0, colon);
  const std::string_view op = std::string_view(r.action).substr(colon + 1);

  // Candidates, in file order.
  std::array<char, 256> buffer;
  const bool use_index = policy.index != nullptr && r.action.size() <= buffer.size();
  Candidates candidates(use_index ? 0 : policy.statements.size());
  if (use_index) {
    for (size_t j = 0; j < r.action.size(); ++j) {
      buffer[j] = Fold(r.action[j]);
    }
    const std::string_view folded(buffer.data(), r.action.size());
    const internal::ServiceIndex& index = *policy.index;
    candidates.Add(Find(index.exact, folded));
    candidates.Add(Find(index.by_service, folded.substr(0, colon)));
    candidates.Add(Find(index.by_operation, folded.substr(colon + 1)));
    candidates.Add(&index.any);
  }

  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t allowed = kNone;
  size_t pending = kNone;  // first allow needing MFA / approval
  Check pending_check = Check::kOk;
  size_t capped = kNone;
  size_t indeterminate = kNone;
  Check indeterminate_check = Check::kOk;
  size_t near_miss = kNone;
  Check near_miss_check = Check::kOk;

  size_t i = 0;
  while (candidates.Next(&i)) {
    const Statement& s = policy.statements[i];
    const bool allow = s.effect == Effect::kAllow;
    if (allow && allowed != kNone) {
      continue;  // only an explicit deny can change the outcome now
    }
    if (ActionMatch(s, service, op) == nullptr || !PrincipalMatches(s, r.principal) ||
        ResourceMatch(s, r.resource) == nullptr) {
      continue;
    }
    Check check = CheckContext(s, r);
    if (!allow) {
      if (check == Check::kOk) {
        return Make(Decision::Effect::kDeny, s.id,
                    "explicitly denied by statement '" + s.id + "': " +
                        WhatMatched(s, r, service, op) + " (an explicit deny beats any allow)");
      }
      if (Indeterminate(check) && indeterminate == kNone) {
        indeterminate = i;
        indeterminate_check = check;
      }
      continue;
    }
    if (check == Check::kOk) {
      check = CheckRates(s, r, ctx);
    }
    if (check == Check::kOk) {
      check = CheckStepUps(s, r, ctx);
    }
    if (check == Check::kOk) {
      allowed = i;
    } else if (Indeterminate(check)) {
      if (indeterminate == kNone) {
        indeterminate = i;
        indeterminate_check = check;
      }
    } else if (check == Check::kNeedsMfa || check == Check::kNeedsApproval) {
      if (pending == kNone) {
        pending = i;
        pending_check = check;
      }
    } else if (check == Check::kRateCapped) {
      if (capped == kNone) {
        capped = i;
      }
    } else if (near_miss == kNone) {
      near_miss = i;
      near_miss_check = check;
    }
  }

  if (indeterminate != kNone) {
    const Statement& s = policy.statements[indeterminate];
    return Make(Decision::Effect::kDeny, s.id,
                "denied: statement '" + s.id + "' cannot be evaluated: " +
                    Explain(indeterminate_check, s, r, ctx) +
                    " (a condition that cannot be evaluated denies)");
  }
  if (allowed != kNone) {
    const Statement& s = policy.statements[allowed];
    Decision d = Make(Decision::Effect::kAllow, s.id,
                      "allowed by statement '" + s.id + "': " + WhatMatched(s, r, service, op));
    d.session_duration = s.session_duration;
    if (s.conditions.per_principal) {
      d.rate_keys.push_back(PrincipalRateKey(s.id, r.principal.id));
    }
    if (s.conditions.total) {
      d.rate_keys.push_back(TotalRateKey(s.id));
    }
    return d;
  }
  if (pending != kNone) {
    const Statement& s = policy.statements[pending];
    Decision d = Make(pending_check == Check::kNeedsMfa ? Decision::Effect::kNeedsMfa
                                                        : Decision::Effect::kNeedsApproval,
                      s.id,
                      "statement '" + s.id + "' would allow (" + WhatMatched(s, r, service, op) +
                          ") but " + Explain(pending_check, s, r, ctx));
    d.session_duration = s.session_duration;
    return d;
  }
  if (capped != kNone) {
    const Statement& s = policy.statements[capped];
    return Make(Decision::Effect::kDeny, s.id,
                "denied: statement '" + s.id + "' matches but its " +
                    Explain(Check::kRateCapped, s, r, ctx));
  }
  std::string reason = "no statement allows '" + r.principal.user + "' to " + r.action + " on '" +
                       r.resource + "' (default deny)";
  if (near_miss != kNone) {
    const Statement& s = policy.statements[near_miss];
    reason += "; closest: statement '" + s.id + "' matches but " +
              Explain(near_miss_check, s, r, ctx);
  }
  return Make(Decision::Effect::kDeny, std::string(kDefaultDenyId), std::move(reason));
}

}  // namespace opsgate::policy
