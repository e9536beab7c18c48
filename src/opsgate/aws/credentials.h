// File: opsgate/aws/credentials.h
//
// Finding AWS credentials the way the AWS SDKs do, and keeping them fresh.
//
//   auto chain = MakeDefaultCredentialsChain({ProcessEnv(), &http, &sts, &clock});
//   CachingCredentialsProvider creds(std::move(chain), clock);
//   core::Result<Credentials> c = creds.Get();   // refreshed 5 minutes before expiry
//
// The default chain, in order (docs/aws.md#credentials):
//   1. environment   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. profile       AWS_PROFILE (else "default") in the shared credentials/config files:
//                    static keys, or role_arn with source_profile / credential_source /
//                    web_identity_token_file through StsClient
//   3. web identity  AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (EKS) through StsClient
//   4. container     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2) or
//                    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback / the
//                    EKS Pod Identity agent), AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]
//   5. EC2 IMDSv2    token PUT, then the role's credentials; no IMDSv1 fallback
// A source that is not configured answers kNotFound and the chain moves on; any other
// error (configured but broken: half a key pair, a missing named profile, an STS
// refusal) stops the chain, as the SDKs do.
//
// Errors never contain a secret access key, session token, web identity token or
// container authorization token; URLs in errors are reduced to scheme and host.
//
// The HttpClient must allow plain http:// for the metadata endpoints (169.254.169.254,
// 169.254.170.2); they are link-local and do not speak TLS.
//
// Thread-safety: the providers are safe to call from several threads when their
// HttpClient and StsClient are; CachingCredentialsProvider serializes refreshes.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/shared_config.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"
#include "opsgate/http/client/http_client.h"

namespace opsgate::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider();
  // kNotFound: this source is not configured (a chain tries the next one).
  [[nodiscard]] virtual core::Result<Credentials> Get() = 0;
  // "environment", "profile", "web-identity", "container", "imds", "chain", ...
  virtual std::string_view Name() const = 0;
};

// ---- STS, implemented elsewhere (SigV4 Query API) ----------------------------------

struct AssumeRoleRequest {
  std::string role_arn;
  std::string role_session_name;
  // 900 s to the role's maximum; nullopt: STS's default (3600 s).
  std::optional<std::chrono::seconds> duration;
  std::optional<std::string> external_id;
  // Inline session policy (JSON).
  std::optional<std::string> policy;
  std::optional<std::string> source_identity;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct AssumeRoleWithWebIdentityRequest {
  std::string role_arn;
  std::string role_session_name;
  // The OIDC token (e.g. the EKS service-account token). Never logged.
  core::Secret web_identity_token;
  std::optional<std::chrono::seconds> duration;
};

class StsClient {
 public:
  virtual ~StsClient();
  // STS AssumeRole signed with `caller`. The result carries session_token and expires_at.
  [[nodiscard]] virtual core::Result<Credentials> AssumeRole(const AssumeRoleRequest& request,
                                                             const Credentials& caller) = 0;
  // STS AssumeRoleWithWebIdentity (unsigned).
  [[nodiscard]] virtual core::Result<Credentials> AssumeRoleWithWebIdentity(
      const AssumeRoleWithWebIdentityRequest& request) = 0;
};

// ---- Sources -------------------------------------------------------------------------

// What the sources need. Pointers must outlive the providers made from them; `http` is
// needed by container/IMDS, `sts` by role profiles and web identity, `clock` by all that
// name sessions or read expirations.
struct CredentialsDeps {
  EnvLookup env;
  http::HttpClient* http = nullptr;
  StsClient* sts = nullptr;
  const core::Clock* clock = nullptr;
};

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. kNotFound when neither
// key variable is set; kInvalidArgument when only one is.
class EnvironmentCredentialsProvider final : public CredentialsProvider {
 public:
  explicit EnvironmentCredentialsProvider(EnvLookup env) : env_(std::move(env)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "environment"; }

 private:
  EnvLookup env_;
};

// The selected profile of the shared files (re-read on every Get; wrap in the cache).
//   - role_arn + source_profile: the source profile's credentials (static keys, or itself
//     a role: chains up to 8 deep, cycles refused), then StsClient::AssumeRole.
//   - role_arn + credential_source (Environment, Ec2InstanceMetadata, EcsContainer): the
//     matching source of `deps`, then AssumeRole.
//   - role_arn + web_identity_token_file: AssumeRoleWithWebIdentity.
//   - aws_access_key_id + aws_secret_access_key [+ aws_session_token]: static.
// role_session_name (else "opsgate-<unix seconds>") and duration_seconds (900..43200)
// apply to the role. kNotFound when the selected profile is absent or has neither
// credential keys nor role_arn, except that a profile named by AWS_PROFILE that exists
// in neither file is kFailedPrecondition; a broken source_profile is kFailedPrecondition.
class ProfileCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ProfileCredentialsProvider(CredentialsDeps deps) : deps_(std::move(deps)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "profile"; }

 private:
  core::Result<Credentials> Resolve(const SharedConfig& shared, const std::string& name,
                                    std::vector<std::string>& visited, bool top);
  CredentialsDeps deps_;
};

// AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE [+ AWS_ROLE_SESSION_NAME]. The token file is
// read bounded (kMaxTokenFileBytes) and trimmed. kNotFound when either variable is unset.
class WebIdentityCredentialsProvider final : public CredentialsProvider {
 public:
  explicit WebIdentityCredentialsProvider(CredentialsDeps deps) : deps_(std::move(deps)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "web-identity"; }

 private:
  CredentialsDeps deps_;
};

// ECS / EKS Pod Identity container credentials. kNotFound when neither URI variable is
// set; kInvalidArgument for a FULL_URI that is not https and not to a loopback or
// container-agent address.
class ContainerCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ContainerCredentialsProvider(CredentialsDeps deps) : deps_(std::move(deps)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "container"; }

 private:
  CredentialsDeps deps_;
};

// EC2 instance metadata, IMDSv2 only. Endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT (default
// http://169.254.169.254). kNotFound when AWS_EC2_METADATA_DISABLED=true, when the token
// request gets no response (not on EC2) or when the instance has no role.
class ImdsCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ImdsCredentialsProvider(CredentialsDeps deps) : deps_(std::move(deps)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "imds"; }

 private:
  CredentialsDeps deps_;
};

// Tries providers in order: the first success wins; kNotFound moves on; any other error
// stops the chain and is returned prefixed with the provider's name. When every
// provider answers kNotFound: kNotFound listing what was tried.
class ChainCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ChainCredentialsProvider(std::vector<std::unique_ptr<CredentialsProvider>> providers)
      : providers_(std::move(providers)) {}
  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return "chain"; }

 private:
  std::vector<std::unique_ptr<CredentialsProvider>> providers_;
};

// The SDK order: environment, profile, web identity, container, IMDS.
// REQUIRES: deps.env, deps.http, deps.sts and deps.clock set.
std::unique_ptr<CredentialsProvider> MakeDefaultCredentialsChain(const CredentialsDeps& deps);

// Caches another provider's credentials. Credentials with expires_at are refreshed when
// less than `refresh_before` (5 minutes) remains; while a refresh fails, the cached ones
// are served until they expire, with a retry at most every `retry_interval`. Expired
// credentials are never returned (kUnavailable/the source's error instead). Credentials
// without expires_at are cached for good. One refresh at a time; concurrent callers wait.
class CachingCredentialsProvider final : public CredentialsProvider {
 public:
  static constexpr std::chrono::seconds kDefaultRefreshBefore{300};
  static constexpr std::chrono::seconds kDefaultRetryInterval{10};

  CachingCredentialsProvider(std::unique_ptr<CredentialsProvider> inner, const core::Clock& clock,
                             std::chrono::seconds refresh_before = kDefaultRefreshBefore,
                             std::chrono::seconds retry_interval = kDefaultRetryInterval)
      : inner_(std::move(inner)),
        clock_(clock),
        refresh_before_(refresh_before),
        retry_interval_(retry_interval) {}

  core::Result<Credentials> Get() override;
  std::string_view Name() const override { return inner_->Name(); }

 private:
  std::unique_ptr<CredentialsProvider> inner_;
  const core::Clock& clock_;
  const std::chrono::seconds refresh_before_;
  const std::chrono::seconds retry_interval_;
  std::mutex mu_;
  std::optional<Credentials> cached_;                  // GUARDED_BY(mu_)
  std::optional<core::Clock::WallTime> next_attempt_;  // GUARDED_BY(mu_)
};

// ---- Pieces exposed for tests ----------------------------------------------------------

inline constexpr size_t kMaxTokenFileBytes = 64 * 1024;
inline constexpr size_t kMaxCredentialsResponseBytes = 64 * 1024;

// Parses the JSON that IMDS and the container endpoint return
// ({"AccessKeyId","SecretAccessKey","Token","Expiration"}; IMDS adds "Code":"Success").
// `source` labels errors. kInvalidArgument on a malformed document (never quoting it).
[[nodiscard]] core::Result<Credentials> ParseCredentialsJson(std::string_view body,
                                                             std::string_view source);

// "2026-11-26T23:18:39Z" (fractional seconds and a "+00:00" offset accepted).
[[nodiscard]] std::optional<core::Clock::WallTime> ParseIso8601Utc(std::string_view s);

}  // namespace opsgate::aws
