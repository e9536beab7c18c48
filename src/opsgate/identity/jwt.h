// File: opsgate/identity/jwt.h
//
// JWT (RFC 7519) validation on top of jws.h: signature first, then claims, checked
// against an injected core::Clock with a bounded skew. Used for OIDC ID tokens and for
// bearer tokens on opsgate's API.
//
//   JwtValidationOptions opts;
//   opts.issuer = "https://login.example.com/";
//   opts.audience = "opsgate";
//   opts.nonce = pending.nonce;                 // ID tokens from an auth request
//   JwtVerifier verifier(opts, clock);          // clock must outlive verifier
//   core::Result<Claims> c = verifier.Verify(token, jwks_cache);
//
// Claims rules: "iss" must equal the issuer; "aud" (string or array of strings) must
// contain the audience; "exp" is required; "exp", "nbf", "iat", "auth_time" must be JSON
// numbers (strings are refused); now >= exp + skew → expired; now + skew < nbf →
// not_yet_valid; iat > now + skew → issued_in_future; "sub" required unless disabled;
// "nonce" compared in constant time when expected. The claims object must have unique
// member names.
//
// Errors: kUnauthenticated "<reason>: ..." (jose_error.h) for every refusal; kUnavailable
// when the key source cannot provide keys at all.
// Thread-safety: JwtVerifier is immutable; Verify may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/identity/jwk.h"
#include "opsgate/identity/jws.h"

namespace opsgate::identity {

// Where verification keys come from: a fixed set or a JwksCache (jwks_cache.h).
class KeySource {
 public:
  virtual ~KeySource() = default;
  // The keys to verify a token whose header has `kid` (nullopt when it has none). A
  // refreshing source may refetch when `kid` is unknown. Errors: kUnavailable when no
  // key set could ever be obtained.
  [[nodiscard]] virtual core::Result<std::shared_ptr<const JwkSet>> KeysFor(
      const std::optional<std::string>& kid) = 0;
};

// A KeySource over a fixed JwkSet (configuration, tests).
class StaticKeySource final : public KeySource {
 public:
  explicit StaticKeySource(JwkSet keys) : keys_(std::make_shared<const JwkSet>(std::move(keys))) {}
  core::Result<std::shared_ptr<const JwkSet>> KeysFor(const std::optional<std::string>&) override {
    return keys_;
  }

 private:
  std::shared_ptr<const JwkSet> keys_;
};

struct JwtValidationOptions {
  // Required: the exact "iss" value.
  std::string issuer;
  // Required: a value "aud" must contain (the OAuth client id for ID tokens).
  std::string audience;
  // Allowed clock difference; clamped to [0, 300] s.
  std::chrono::seconds clock_skew{60};
  // When set, "nonce" must be present and equal.
  std::optional<std::string> nonce;
  // Claim holding group names (array of strings, or one string). Absent → no groups.
  std::string groups_claim = "groups";
  bool require_subject = true;
  bool require_issued_at = false;
  // Signature-level policy (allow-list, sizes, typ).
  JwsVerifyOptions jws;
};

// The validated claims. Optional fields are empty when the claim was absent.
struct Claims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  int64_t exp = 0;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  std::optional<int64_t> auth_time;
  std::vector<std::string> amr;
  std::optional<std::string> acr;
  std::optional<std::string> nonce;
  std::optional<std::string> email;
  std::optional<bool> email_verified;
  std::vector<std::string> groups;
  // The whole claims object as received (JSON text), for claims not mapped above.
  std::string raw_json;
  // Which key verified the token (kid, may be empty) and with which algorithm.
  std::string key_kid;
  JwsAlg alg = JwsAlg::kRs256;
};

// Checks a claims object (JSON text) against `options` at `now_unix` (seconds).
// Exposed for tests and for callers that verified the signature themselves.
[[nodiscard]] core::Result<Claims> ValidateClaims(std::string_view claims_json,
                                                  const JwtValidationOptions& options,
                                                  int64_t now_unix);

class JwtVerifier {
 public:
  // `clock` must outlive this verifier.
  JwtVerifier(JwtValidationOptions options, const core::Clock& clock);

  // Verifies signature (keys from `keys`) and claims.
  [[nodiscard]] core::Result<Claims> Verify(std::string_view token, KeySource& keys) const;
  // The same with a fixed key set.
  [[nodiscard]] core::Result<Claims> Verify(std::string_view token, const JwkSet& keys) const;

  const JwtValidationOptions& options() const { return options_; }

 private:
  JwtValidationOptions options_;
  const core::Clock& clock_;
};

}  // namespace opsgate::identity
