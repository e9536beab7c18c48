#include "opsgate/aws/session_broker.h"

#include <algorithm>
#include <boost/json.hpp>

#include "opsgate/crypto/hash.h"

namespace opsgate::aws {

namespace {

constexpr std::string_view kPrefix = "session broker: ";
constexpr size_t kMaxArnChars = 2048;
constexpr size_t kMaxPrincipalChars = 1024;
constexpr size_t kMaxTagValueChars = 256;
constexpr size_t kHashChars = 12;

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

core::Unexpected Invalid(std::string field, std::string what) {
  return core::Fail(core::InvalidArgument(std::string(kPrefix) + field + " " + what));
}

// Sanitized name chars of `s`, others as '_' (runs collapsed), at most `max` long.
std::string SanitizeName(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      break;
    }
    if (NameChar(c)) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  return out;
}

std::string PrincipalHash(std::string_view principal_id) {
  return crypto::HexEncode(crypto::Sha256(principal_id)).substr(0, kHashChars);
}

bool ValidAction(std::string_view action) {
  const size_t colon = action.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= action.size() ||
      action.size() > 128) {
    return false;
  }
  for (size_t i = 0; i < colon; ++i) {
    const char c = action[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  for (size_t i = colon + 1; i < action.size(); ++i) {
    const char c = action[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

bool ValidRoleArn(std::string_view arn) {
  // arn:<partition>:iam::<account>:role/<path/name>
  if (arn.size() < 20 || arn.size() > kMaxArnChars || arn.rfind("arn:", 0) != 0 ||
      HasControl(arn)) {
    return false;
  }
  const size_t iam = arn.find(":iam::");
  if (iam == std::string_view::npos || iam <= 4) {
    return false;
  }
  const size_t role = arn.find(":role/", iam + 6);
  return role != std::string_view::npos && role > iam + 6 && role + 6 < arn.size() &&
         arn.find_first_of("*? ") == std::string_view::npos;
}

// Length-prefixed join: injective, so distinct scopes never share a key.
std::string CacheKey(const SessionRequest& r) {
  std::string key;
  for (std::string_view part : {std::string_view(r.role_arn), std::string_view(r.action),
                                std::string_view(r.resource_arn),
                                std::string_view(r.principal_id)}) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  }
  return key;
}

}  // namespace

RoleAssumer::~RoleAssumer() = default;

core::Result<AssumedRole> StsRoleAssumer::Assume(const AssumeRoleRequest& request,
                                                 const Credentials& caller) {
  return sts_.AssumeRoleDetailed(request, caller);
}

std::chrono::seconds ClampSessionDuration(std::chrono::seconds d) {
  return std::clamp(d, kMinSessionDuration, kMaxSessionDuration);
}

bool IsValidSessionName(std::string_view s) {
  return s.size() >= 2 && s.size() <= 64 && std::all_of(s.begin(), s.end(), NameChar);
}

bool IsReadAction(std::string_view action) {
  const size_t colon = action.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  // Reads AWS authorizes only on "*": decoding why a call was refused.
  if (action == "sts:DecodeAuthorizationMessage") {
    return true;
  }
  const std::string_view name = action.substr(colon + 1);
  for (std::string_view verb : {"Describe", "List", "Get"}) {
    if (name.size() > verb.size() && name.substr(0, verb.size()) == verb) {
      return true;
    }
  }
  return false;
}

std::string SessionPolicyJson(std::string_view action, std::string_view resource_arn) {
  boost::json::object statement;
  statement["Effect"] = "Allow";
  statement["Action"] = boost::json::array{boost::json::string(action)};
  statement["Resource"] = boost::json::array{boost::json::string(resource_arn)};
  boost::json::object policy;
  policy["Version"] = "2012-10-17";
  policy["Statement"] = boost::json::array{std::move(statement)};
  return boost::json::serialize(policy);
}

std::string SanitizeTagValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (out.size() >= kMaxTagValueChars) {
      break;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' || c == '=' ||
                    c == '+' || c == '-' || c == '@';
    out.push_back(ok ? c : '_');
  }
  return out;
}

core::Result<AssumeRoleRequest> BuildAssumeRoleRequest(const SessionRequest& r) {
  if (!ValidRoleArn(r.role_arn)) {
    return Invalid("role_arn", "is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)");
  }
  if (!ValidAction(r.action)) {
    return Invalid("action", "must be \"service:ActionName\" (e.g. ec2:StopInstances), no wildcards");
  }
  if (r.resource_arn.empty() || r.resource_arn.size() > kMaxArnChars ||
      HasControl(r.resource_arn)) {
    return Invalid("resource_arn", "must be 1-2048 characters without control characters");
  }
  const bool wildcard = r.resource_arn.find_first_of("*?") != std::string::npos;
  if (wildcard && !IsReadAction(r.action)) {
    return Invalid("resource_arn",
                   "contains a wildcard, allowed only for Describe*/List*/Get* actions (action " +
                       r.action + ")");
  }
  if (r.resource_arn != "*" && r.resource_arn.rfind("arn:", 0) != 0) {
    return Invalid("resource_arn", "must be an ARN (arn:...) or \"*\"");
  }
  if (r.principal_id.empty() || r.principal_id.size() > kMaxPrincipalChars ||
      HasControl(r.principal_id)) {
    return Invalid("principal_id", "must be 1-1024 characters without control characters");
  }
  if (r.principal_name.size() > kMaxPrincipalChars) {
    return Invalid("principal_name", "must be at most 1024 characters");
  }
  if (r.platform.empty()) {
    return Invalid("platform", "is empty");
  }
  if (r.channel.empty()) {
    return Invalid("channel", "is empty");
  }
  if (r.correlation_id.empty()) {
    return Invalid("correlation_id", "is empty");
  }

  const std::string hash = PrincipalHash(r.principal_id);
  // RoleSessionName: "opsgate-" (8) + user (<= 43) + "-" + hash (12) <= 64.
  const std::string user = SanitizeName(r.principal_name, 43);
  AssumeRoleRequest out;
  out.role_arn = r.role_arn;
  out.role_session_name = "opsgate-" + (user.empty() ? "" : user + "-") + hash;
  // SourceIdentity: user (<= 51) + "-" + hash <= 64; never starts with "aws:" (no ':').
  out.source_identity = user.empty() ? "opsgate-" + hash : SanitizeName(r.principal_name, 51) + "-" + hash;
  out.duration = ClampSessionDuration(r.duration);
  out.policy = SessionPolicyJson(r.action, r.resource_arn);
  if (out.policy->size() > kMaxSessionPolicyChars) {
    return Invalid("resource_arn", "makes the session policy longer than 2048 characters");
  }
  out.tags = {{"opsgate:platform", SanitizeTagValue(r.platform)},
              {"opsgate:channel", SanitizeTagValue(r.channel)},
              {"opsgate:correlation-id", SanitizeTagValue(r.correlation_id)}};
  if (!IsValidSessionName(out.role_session_name) || !IsValidSessionName(*out.source_identity)) {
    return core::Fail(core::Internal(std::string(kPrefix) + "derived session name is invalid"));
  }
  return out;
}

bool SessionBroker::Usable(const Entry& e, const SessionRequest& r, std::chrono::seconds duration,
                           core::Clock::WallTime now) const {
  return e.session && e.role_arn == r.role_arn && e.action == r.action &&
         e.resource_arn == r.resource_arn && e.principal_id == r.principal_id &&
         e.duration <= duration && e.session->expires_at - now >= options_.min_remaining;
}

void SessionBroker::EvictLocked(core::Clock::WallTime now) {
  for (auto it = cache_.begin(); it != cache_.end();) {
    const Entry& e = it->second;
    if (!e.in_flight && (!e.session || e.session->expires_at - now < options_.min_remaining)) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  while (cache_.size() >= options_.max_entries) {
    auto victim = cache_.end();
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (!it->second.in_flight && it->second.session &&
          (victim == cache_.end() ||
           it->second.session->expires_at < victim->second.session->expires_at)) {
        victim = it;
      }
    }
    if (victim == cache_.end()) {
      return;  // only in-flight entries left
    }
    cache_.erase(victim);
  }
}

core::Result<ScopedSession> SessionBroker::Get(const SessionRequest& request) {
  core::Result<AssumeRoleRequest> req = BuildAssumeRoleRequest(request);
  if (!req) {
    return core::Fail(req.error());
  }
  const std::chrono::seconds duration = *req->duration;
  const std::string key = CacheKey(request);

  {
    std::unique_lock lock(mu_);
    for (;;) {
      auto it = cache_.find(key);
      if (it == cache_.end()) {
        if (cache_.size() >= options_.max_entries) {
          EvictLocked(clock_.Now());
        }
        it = cache_.try_emplace(key).first;
      }
      Entry& e = it->second;
      if (Usable(e, request, duration, clock_.Now())) {
        ScopedSession s = *e.session;
        s.from_cache = true;
        return s;
      }
      if (!e.in_flight) {
        e.in_flight = true;
        break;
      }
      cv_.wait(lock);
    }
  }

  // One AssumeRole per scope at a time; waiters re-check the cache when it finishes.
  bool finished = false;
  auto finish = [&](std::optional<ScopedSession> made) {
    finished = true;
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      Entry& e = it->second;
      e.in_flight = false;
      if (made) {
        e.session = std::move(made);
        e.role_arn = request.role_arn;
        e.action = request.action;
        e.resource_arn = request.resource_arn;
        e.principal_id = request.principal_id;
        e.duration = duration;
      } else if (!e.session) {
        cache_.erase(it);
      }
    }
    cv_.notify_all();
  };
  // Should the assumer or provider throw, waiters must not wait forever.
  struct Guard {
    bool& finished;
    decltype(finish)& f;
    ~Guard() {
      if (!finished) {
        f(std::nullopt);
      }
    }
  } guard{finished, finish};

  core::Result<Credentials> caller = caller_.Get();
  if (!caller) {
    finish(std::nullopt);
    return core::Fail(core::Error{
        caller.error().code,
        std::string(kPrefix) + "caller credentials (" + std::string(caller_.Name()) +
            "): " + caller.error().message});
  }
  const core::Clock::WallTime started = clock_.Now();
  core::Result<AssumedRole> assumed = assumer_.Assume(*req, *caller);
  if (!assumed) {
    finish(std::nullopt);
    return core::Fail(
        core::Error{assumed.error().code, std::string(kPrefix) + "AssumeRole " + request.role_arn +
                                              " for " + request.action + ": " +
                                              ScrubCredentials(assumed.error().message, *caller)});
  }

  ScopedSession s;
  s.credentials = std::move(assumed->credentials);
  // Without an Expiration (STS always sends one), assume the earliest it could be.
  s.expires_at = s.credentials.expires_at.value_or(started + duration);
  s.credentials.expires_at = s.expires_at;
  s.assumed_role_arn = std::move(assumed->assumed_role_arn);
  s.session_name = req->role_session_name;
  s.source_identity = *req->source_identity;
  s.policy_json = *req->policy;
  s.from_cache = false;
  finish(s);
  return s;
}

size_t SessionBroker::CacheSize() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(cache_.begin(), cache_.end(),
                                           [](const auto& kv) { return kv.second.session.has_value(); }));
}

}  // namespace opsgate::aws
