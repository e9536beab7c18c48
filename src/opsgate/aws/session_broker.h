// File: opsgate/aws/session_broker.h
//
// Per-action scoped AWS sessions (docs/aws.md#scoped-sessions, issue 8 item 3). Before an
// action, opsgate assumes the role that config maps to the action, with:
//   RoleSessionName  "opsgate-<user>-<hash>"  (<user>: the principal's name, sanitized;
//                    <hash>: 12 hex digits of SHA-256(principal_id))
//   SourceIdentity   "<user>-<hash>"          (persists through role chaining in CloudTrail)
//   Tags             opsgate:platform, opsgate:channel, opsgate:correlation-id
//   Policy           {"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//                     "Action":[action],"Resource":[resource_arn]}]}
//   DurationSeconds  max(900, min(duration, 43200))
//
//   StsRoleAssumer assumer(sts);                 // sts: SigV4StsClient
//   SessionBroker broker(assumer, caller_creds, clock);
//   core::Result<ScopedSession> s = broker.Get({.role_arn = ..., .action = "ec2:StopInstances",
//                                               .resource_arn = ..., ...});
//   // s->credentials sign the call; s->assumed_role_arn / s->session_name go to audit.
//
// Wildcards: a resource containing '*' or '?' is refused unless the action's name starts
// with Describe, List or Get, or is sts:DecodeAuthorizationMessage (read actions, several
// of which AWS only authorizes on "*", e.g. ec2:DescribeInstances).
//
// Caching: sessions are keyed by (role, action, resource, principal_id). A cached session
// is returned only when it was made for exactly that scope, has at least `min_remaining`
// (5 minutes) left, and was made with a DurationSeconds no longer than the one now asked
// for (a principal whose session length shrank gets a new, shorter session). The tags of
// a cached session are those of the request that made it (its correlation id, channel).
// Concurrent Get calls for one scope make one AssumeRole call; the others wait for it.
//
// Errors: kInvalidArgument naming the invalid field; the credential provider's and the
// assumer's errors prefixed with "session broker: ". No error contains a secret key or
// session token (the caller's are also scrubbed from the assumer's messages).
//
// Thread-safety: SessionBroker is safe to call from any thread when its RoleAssumer and
// CredentialsProvider are.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/credentials.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/aws/sts.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

// STS AssumeRole with the details the broker records. Tests use a fake.
class RoleAssumer {
 public:
  virtual ~RoleAssumer();
  [[nodiscard]] virtual core::Result<AssumedRole> Assume(const AssumeRoleRequest& request,
                                                         const Credentials& caller) = 0;
};

// RoleAssumer over SigV4StsClient::AssumeRoleDetailed. `sts` must outlive the adapter.
class StsRoleAssumer final : public RoleAssumer {
 public:
  explicit StsRoleAssumer(SigV4StsClient& sts) : sts_(sts) {}
  core::Result<AssumedRole> Assume(const AssumeRoleRequest& request,
                                   const Credentials& caller) override;

 private:
  SigV4StsClient& sts_;
};

struct SessionRequest {
  // The role config maps to the action: arn:<partition>:iam::<account>:role/<name>.
  std::string role_arn;
  // "service:ActionName", e.g. "ec2:StopInstances". No wildcards.
  std::string action;
  // The one resource the session may act on (wildcards only for Describe/List/Get).
  std::string resource_arn;
  // "issuer|subject": the stable principal identity.
  std::string principal_id;
  // Display name ("alice"); may be empty (the session name then has only the hash).
  std::string principal_name;
  std::string platform;
  std::string channel;
  std::string correlation_id;
  // The principal's session length; clamped to 900..43200 s.
  std::chrono::seconds duration{0};
};

struct ScopedSession {
  Credentials credentials;
  // arn:aws:sts::<account>:assumed-role/<role>/<session>
  std::string assumed_role_arn;
  std::string session_name;
  std::string source_identity;
  std::string policy_json;
  core::Clock::WallTime expires_at;
  bool from_cache = false;
};

class SessionBroker {
 public:
  struct Options {
    // A cached session is reused only with at least this much lifetime left.
    std::chrono::seconds min_remaining{300};
    // Cache entries kept at most (expired ones are dropped first, then the soonest to
    // expire).
    size_t max_entries = 4096;
  };

  // `assumer`, `caller` and `clock` must outlive the broker. `caller` supplies the
  // credentials AssumeRole is signed with (typically a CachingCredentialsProvider).
  SessionBroker(RoleAssumer& assumer, CredentialsProvider& caller, const core::Clock& clock)
      : SessionBroker(assumer, caller, clock, Options{}) {}
  SessionBroker(RoleAssumer& assumer, CredentialsProvider& caller, const core::Clock& clock,
                Options options)
      : assumer_(assumer), caller_(caller), clock_(clock), options_(options) {}

  [[nodiscard]] core::Result<ScopedSession> Get(const SessionRequest& request);

  // Number of cached sessions (for tests and metrics).
  size_t CacheSize() const;

 private:
  struct Entry {
    std::optional<ScopedSession> session;
    // Scope the session was made for, compared exactly on every hit.
    std::string role_arn, action, resource_arn, principal_id;
    std::chrono::seconds duration{0};
    bool in_flight = false;
  };

  bool Usable(const Entry& e, const SessionRequest& r, std::chrono::seconds duration,
              core::Clock::WallTime now) const;
  void EvictLocked(core::Clock::WallTime now);

  RoleAssumer& assumer_;
  CredentialsProvider& caller_;
  const core::Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> cache_;  // GUARDED_BY(mu_)
};

// ---- Pieces exposed for tests ----------------------------------------------------------

inline constexpr std::chrono::seconds kMinSessionDuration{900};
inline constexpr std::chrono::seconds kMaxSessionDuration{43200};
inline constexpr size_t kMaxSessionPolicyChars = 2048;

// max(900, min(d, 43200)).
std::chrono::seconds ClampSessionDuration(std::chrono::seconds d);

// True when AWS's name rules allow `s` as RoleSessionName/SourceIdentity:
// 2..64 characters of [A-Za-z0-9_+=,.@-].
bool IsValidSessionName(std::string_view s);

// True for "service:Describe*", "service:List*", "service:Get*" and
// "sts:DecodeAuthorizationMessage" (read-only, authorized on "*" only).
bool IsReadAction(std::string_view action);

// The AssumeRoleRequest Get sends for `request` (validated; kInvalidArgument naming the
// field otherwise).
[[nodiscard]] core::Result<AssumeRoleRequest> BuildAssumeRoleRequest(const SessionRequest& request);

// The inline session policy, serialized by Boost.JSON.
std::string SessionPolicyJson(std::string_view action, std::string_view resource_arn);

// A tag value reduced to AWS's charset ([A-Za-z0-9 _.:/=+@-], others become '_') and at
// most 256 characters.
std::string SanitizeTagValue(std::string_view value);

}  // namespace opsgate::aws
