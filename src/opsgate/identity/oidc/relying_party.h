// File: opsgate/identity/oidc/relying_party.h
//
// The OpenID Connect relying party for identity linking (issue 5): authorization code
// flow with PKCE (S256), state and nonce, against a provider found by discovery.
//
//   RelyingParty rp(options, discovery, http, clock);     // all borrowed, must outlive rp
//   // GET /auth/login?t=<link token>
//   core::Result<LoginStart> start = rp.BeginLogin({.context = account_json});
//   store.PutLoginState(ToPendingLogin(start->state));      // pending_login.h
//   redirect the browser to start->authorization_url (302, Cache-Control: no-store)
//   // GET /auth/callback?code=...&state=...&iss=...
//   core::Result<CallbackParams> cb = ParseCallbackQuery(raw_query);
//   auto pending = store.TakeLoginState(StateHash(cb->state.value_or("")), clock.Now());
//   if (!*pending) -> refuse (unknown or replayed state)
//   core::Result<Identity> who = rp.CompleteLogin(FromPendingLogin(**pending), *cb);
//
// What CompleteLogin checks, in order (first failure wins):
//   1. the callback's state equals the pending login's (constant time)  state_mismatch
//   2. the pending login has not expired (login_ttl)                      login_expired
//   3. the pending login was made for this issuer; the callback's "iss"
//      (RFC 9207) equals it, and is present when the provider says it
//      sends it                                                          issuer_mismatch
//   4. the callback is not an error (error=access_denied → kPermissionDenied
//      access_denied; any other error= → provider_error)
//   5. it has a code                                                     missing_code
//   6. the token endpoint accepts code + code_verifier + redirect_uri
//      (client_secret_basic, client_secret_post or none): a 4xx is
//      token_rejected "<error>: <description>" (e.g. invalid_grant for a
//      code used twice), a 5xx or transport failure token_endpoint_unavailable
//      (kUnavailable), a non-JSON or incomplete answer bad_token_response
//   7. the ID token verifies (identity/jwt.h, keys from jwks_uri through a
//      JwksCache, algorithms from discovery ∩ allow-list): iss, aud =
//      client_id, exp, iat, nonce                                         id_token_invalid
//      ("id_token_invalid: <jose reason>: ...", e.g. nonce_mismatch)
//   8. azp = client_id when present, required when aud has several values  azp_mismatch
//   9. auth_time present and recent enough when max_age was asked          auth_time_missing /
//                                                                         auth_too_old
//  10. acr present and one of acr_values when acr_values was asked          acr_not_satisfied
// Every refusal is a core::Error whose message starts with the reason word (OidcReasonOf)
// and code kUnauthenticated unless stated otherwise. Messages never contain the code,
// tokens, the verifier or the client secret.
//
// Single use is the caller's store's job (TakeLoginState deletes); CompleteLogin itself
// is stateless apart from the JWKS cache.
//
// Thread-safety: BeginLogin and CompleteLogin may run concurrently. Both block (discovery,
// token endpoint, JWKS): call them off I/O threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/identity/jwks_cache.h"
#include "opsgate/identity/oidc/discovery.h"

namespace opsgate::identity::oidc {

enum class OidcReason {
  kInvalidRequest,            // BeginLogin parameters or callback query malformed
  kStateMismatch,
  kLoginExpired,
  kIssuerMismatch,
  kAccessDenied,              // kPermissionDenied: the user (or policy) said no
  kProviderError,             // any other error= in the callback
  kMissingCode,
  kTokenRejected,
  kTokenEndpointUnavailable,  // kUnavailable
  kBadTokenResponse,
  kIdTokenInvalid,
  kAzpMismatch,
  kAuthTimeMissing,
  kAuthTooOld,
  kAcrNotSatisfied,
  kDiscoveryFailed,           // code of the discovery error (kUnavailable/kFailedPrecondition)
};

// Stable snake_case word ("state_mismatch", ...).
std::string_view OidcReasonName(OidcReason reason);
// The reason word a message produced here starts with, or "" when none.
std::string_view OidcReasonOf(const core::Error& error);

enum class ClientAuthMethod { kClientSecretBasic, kClientSecretPost, kNone };

struct RelyingPartyOptions {
  // Required: the OAuth client id registered at the provider.
  std::string client_id;
  // Required unless client_auth is kNone.
  core::Secret client_secret;
  ClientAuthMethod client_auth = ClientAuthMethod::kClientSecretBasic;
  // Required: opsgate's callback URL, exactly as registered (https://.../auth/callback).
  std::string redirect_uri;
  // Sent in addition to "openid email profile" (e.g. "groups", "offline_access").
  std::vector<std::string> extra_scopes;
  // ID token claim holding group names (array of strings or one string).
  std::string groups_claim = "groups";
  // How long a user may take between BeginLogin and the callback.
  std::chrono::seconds login_ttl{600};
  // Clock skew tolerated for exp/iat/auth_time (clamped to [0, 300] s by jwt.h).
  std::chrono::seconds clock_skew{60};
  std::chrono::milliseconds token_timeout{10000};
  // JWKS caching policy; jwks_uri is taken from discovery.
  JwksCacheOptions jwks;
};

struct LoginParams {
  // "login", "consent", "select_account", "none" (space-separated combination allowed).
  std::optional<std::string> prompt;
  // Step-up: the provider must have authenticated the user at most this long ago.
  std::optional<std::chrono::seconds> max_age;
  // Step-up: requested authentication context classes, most preferred first.
  std::vector<std::string> acr_values;
  std::optional<std::string> login_hint;
  // Opaque to the relying party, kept with the pending login (e.g. the platform account
  // a link token was issued for).
  std::string context;
};

// A login in flight. Everything needed to finish it; store it server side (never in a
// cookie), keyed by StateHash(state) (pending_login.h).
struct LoginState {
  core::Secret state;
  core::Secret nonce;
  core::Secret code_verifier;
  std::string issuer;
  std::string redirect_uri;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};
  std::optional<std::chrono::seconds> max_age;
  std::vector<std::string> acr_values;
  std::string prompt;
  std::string context;
};

struct LoginStart {
  // Where to send the browser. Contains state, nonce and the PKCE challenge; do not log.
  std::string authorization_url;
  LoginState state;
};

// The query parameters of the redirect back to redirect_uri.
struct CallbackParams {
  std::optional<std::string> code;
  std::optional<std::string> state;
  std::optional<std::string> iss;
  std::optional<std::string> error;
  std::optional<std::string> error_description;
};

// Parses the raw query string ("code=...&state=..."; a leading '?' is ignored) with
// form-urlencoded decoding. Unknown parameters are ignored. Errors: kInvalidArgument
// "invalid_request: ..." for a repeated known parameter, bad %-escapes, or a query
// larger than 16 KiB.
[[nodiscard]] core::Result<CallbackParams> ParseCallbackQuery(std::string_view query);

// Who logged in, as the provider asserted it in a validated ID token.
struct Identity {
  std::string issuer;
  std::string subject;
  std::optional<std::string> email;
  bool email_verified = false;
  std::optional<std::string> name;
  std::vector<std::string> groups;
  std::vector<std::string> amr;
  std::optional<std::string> acr;
  std::optional<int64_t> auth_time;
  // The opaque context given to BeginLogin.
  std::string context;
};

class RelyingParty {
 public:
  // `discovery`, `http` and `clock` are borrowed and must outlive this object.
  RelyingParty(RelyingPartyOptions options, Discovery& discovery, http::HttpClient& http,
               const core::Clock& clock);

  // Starts a login: fresh state, nonce and PKCE verifier (32 random bytes each,
  // base64url), the authorization URL, and the LoginState to store.
  // Errors: kInvalidArgument invalid_request (bad prompt/acr_values/max_age, context
  // over 4 KiB); discovery_failed with the discovery error's code; kUnavailable when
  // the random generator fails.
  [[nodiscard]] core::Result<LoginStart> BeginLogin(const LoginParams& params);

  // Finishes a login (see the checks above).
  [[nodiscard]] core::Result<Identity> CompleteLogin(const LoginState& pending,
                                                     const CallbackParams& callback);

  const RelyingPartyOptions& options() const { return options_; }

 private:
  core::Result<std::shared_ptr<const ProviderMetadata>> Metadata();
  // The JWKS cache for `jwks_uri`, recreated when discovery changes it.
  std::shared_ptr<JwksCache> KeysFor(const std::string& jwks_uri);

  const RelyingPartyOptions options_;
  Discovery& discovery_;
  http::HttpClient& http_;
  const core::Clock& clock_;

  std::mutex mu_;
  std::string jwks_uri_;                // GUARDED_BY(mu_)
  std::shared_ptr<JwksCache> jwks_;     // GUARDED_BY(mu_)
};

}  // namespace opsgate::identity::oidc
