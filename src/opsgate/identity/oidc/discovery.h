// File: opsgate/identity/oidc/discovery.h
//
// OpenID Connect Discovery 1.0: fetches <issuer>/.well-known/openid-configuration
// through an HttpClient, validates it and caches it with a TTL.
//
//   Discovery discovery({.issuer = "https://login.example.com/tenant/v2.0"}, http, clock);
//   core::Result<std::shared_ptr<const ProviderMetadata>> md = discovery.Get();
//
// Validation (every refusal is kFailedPrecondition "discovery_invalid: ..."; opsgate
// cannot log anyone in against such a provider and retrying will not help):
//   - "issuer" equals the configured issuer exactly (OIDC Discovery §4.3; no trailing
//     slash normalisation), so one provider cannot speak for another (mix-up);
//   - issuer, authorization_endpoint, token_endpoint and jwks_uri are present, absolute
//     https:// URLs without fragment. http:// only with allow_http AND a loopback host
//     (127.0.0.1, ::1, localhost): local test providers;
//   - code_challenge_methods_supported, when present, contains "S256" (PKCE is always
//     sent; a provider that says it cannot do S256 would ignore or refuse it);
//   - response_types_supported, when present, contains "code";
//   - id_token_signing_alg_values_supported (required by the spec) intersected with our
//     allow-list is not empty; "none" and HS* never count.
//
// Caching: a good document is kept for `ttl`. A failed refresh keeps serving the old
// document and is not retried before `retry_interval`; without any good document, Get()
// fails (kUnavailable for transport/5xx/non-JSON, kFailedPrecondition for an invalid
// document) and retries at most every `retry_interval`.
//
// Ownership: `http` and `clock` are borrowed and must outlive the Discovery.
// Thread-safety: Get() may be called concurrently; one fetch at a time, under a lock
// (callers wait for it), so call it off I/O threads like every HttpClient::Send.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/identity/jwk.h"

namespace opsgate::identity::oidc {

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::optional<std::string> userinfo_endpoint;
  std::optional<std::string> end_session_endpoint;
  // As advertised; empty when the member was absent.
  std::vector<std::string> code_challenge_methods_supported;
  std::vector<std::string> token_endpoint_auth_methods_supported;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> acr_values_supported;
  std::vector<std::string> claims_supported;
  // id_token_signing_alg_values_supported ∩ our allow-list, in the provider's order.
  std::vector<JwsAlg> id_token_signing_algs;
  // RFC 9207: the provider adds "iss" to authorization responses; then it is required.
  bool authorization_response_iss_parameter_supported = false;
};

struct DiscoveryOptions {
  // Required: the issuer identifier, exactly as the provider spells it.
  std::string issuer;
  // Accept http:// for a loopback host. Tests only.
  bool allow_http = false;
  // ID token algorithms opsgate accepts (never none/HS*; those are not JwsAlgs).
  std::vector<JwsAlg> allowed_algs = AllJwsAlgs();
  std::chrono::seconds ttl{3600};
  std::chrono::seconds retry_interval{30};
  std::chrono::milliseconds fetch_timeout{5000};
  size_t max_body_bytes = 256 * 1024;
};

// The discovery URL for `issuer`: issuer without a trailing '/' +
// "/.well-known/openid-configuration" (OIDC Discovery §4).
std::string DiscoveryUrl(std::string_view issuer);

// True when `url` is an absolute https:// URL without fragment, or (allow_http) an
// http:// URL whose host is 127.0.0.1, [::1] or localhost.
bool IsAllowedEndpoint(std::string_view url, bool allow_http);

// Parses and validates a discovery document (rules above). Errors:
// kFailedPrecondition "discovery_invalid: ..." (message names the member).
[[nodiscard]] core::Result<ProviderMetadata> ParseProviderMetadata(std::string_view json,
                                                                   const DiscoveryOptions& options);

class Discovery {
 public:
  Discovery(DiscoveryOptions options, http::HttpClient& http, const core::Clock& clock);

  // The current metadata, fetched when missing or older than ttl (see Caching).
  [[nodiscard]] core::Result<std::shared_ptr<const ProviderMetadata>> Get();

  const DiscoveryOptions& options() const { return options_; }
  // Fetch attempts so far, for tests and metrics.
  size_t fetch_count() const;

 private:
  core::Result<ProviderMetadata> Fetch();

  const DiscoveryOptions options_;
  http::HttpClient& http_;
  const core::Clock& clock_;

  mutable std::mutex mu_;
  std::shared_ptr<const ProviderMetadata> metadata_;    // GUARDED_BY(mu_)
  core::Clock::SteadyTime expires_{};                   // GUARDED_BY(mu_)
  std::optional<core::Clock::SteadyTime> last_failure_; // GUARDED_BY(mu_)
  std::optional<core::Error> last_error_;               // GUARDED_BY(mu_)
  size_t fetch_count_ = 0;                              // GUARDED_BY(mu_)
};

}  // namespace opsgate::identity::oidc
