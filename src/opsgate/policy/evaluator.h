// File: opsgate/policy/evaluator.h
//
// Evaluate() decides one Request against a Policy (rules in docs/policy.md):
//   - default deny (statement "default-deny");
//   - an explicit deny beats any allow;
//   - a condition that cannot be evaluated (a channel list but no channel, no platform
//     or workspace when a list names them, channel_posture when the platform did not
//     say whether the channel is shared, a malformed action, a rate counter error)
//     denies;
//   - among allows, the first in file order that fully matches decides; failing that,
//     the first whose only unmet conditions are MFA / approval yields kNeedsMfa /
//     kNeedsApproval; failing that, an allow stopped only by its rate cap denies.
// Every Decision names the deciding statement and says in words what matched or what
// was missing.
//
// Evaluation is pure: it reads the time from Request::now, usage from a RateCounter and
// approvals from EvalContext, and changes nothing. The caller records usage (the
// Decision's rate_keys) after the action runs, and collects approvals keyed by
// ApprovalKey(request).
//
// Thread-safety: Evaluate() is safe to call concurrently on a shared const Policy if the
// RateCounter is.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/policy/policy.h"

namespace opsgate::policy {

using WallTime = std::chrono::system_clock::time_point;

struct RequestPrincipal {
  std::string id;    // stable id, e.g. "issuer|subject" (rate keys, approvals)
  std::string user;  // matched against principals.users
  std::vector<std::string> groups;
  std::vector<std::string> roles;
  std::optional<WallTime> mfa_at;  // last MFA step-up, if any
};

struct Request {
  RequestPrincipal principal;
  std::string action;    // "ec2:StopInstances"
  std::string resource;  // "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc" or ""
  std::string platform;  // "slack", ...; "" if unknown
  std::string workspace;
  std::string channel;  // "" for a DM or when unknown
  bool is_dm = false;
  // The platform's word on whether the conversation includes people from outside the
  // workspace (shared / Slack Connect channels) or guests: true it does, false it does
  // not, nullopt the platform did not say. Read by channel_posture (DMs need none).
  std::optional<bool> channel_external;
  WallTime now{};
};

// Past uses, as recorded by the caller under the keys a Decision lists in rate_keys.
class RateCounter {
 public:
  virtual ~RateCounter() = default;
  // Uses recorded under `key` in the last `window` before now. Any error denies.
  virtual core::Result<uint64_t> Count(std::string_view key, std::chrono::seconds window) const = 0;
};

// One approval collected for a request.
struct ApprovalRecord {
  std::string request_key;  // ApprovalKey() of the request approved; others are ignored
  std::string approver_id;  // RequestPrincipal::id of the approver
  std::vector<std::string> approver_groups;
};

struct EvalContext {
  const RateCounter* rates = nullptr;  // needed by statements with rate caps (else deny)
  std::vector<ApprovalRecord> approvals;
};

struct Decision {
  enum class Effect { kAllow, kDeny, kNeedsMfa, kNeedsApproval };
  Effect effect = Effect::kDeny;
  std::string statement;  // the deciding statement's id, or "default-deny"
  std::string reason;     // human: what matched, or what was missing
  std::optional<std::chrono::seconds> session_duration;  // from an allow, if set
  // On kAllow with rate caps: the keys to record one use under once the action runs.
  std::vector<std::string> rate_keys;
};

inline constexpr std::string_view kDefaultDenyId = "default-deny";

std::string_view EffectName(Decision::Effect effect);  // "allow", "deny", ...

[[nodiscard]] Decision Evaluate(const Policy& policy, const Request& request,
                                const EvalContext& context);

// The exact request an approval is for: principal id, action, resource, platform,
// workspace and channel, length-prefixed (no two requests share a key).
std::string ApprovalKey(const Request& request);

// Rate counter keys of a statement: "<id>|principal|<principal id>" and "<id>|total".
std::string PrincipalRateKey(std::string_view statement_id, std::string_view principal_id);
std::string TotalRateKey(std::string_view statement_id);

}  // namespace opsgate::policy
