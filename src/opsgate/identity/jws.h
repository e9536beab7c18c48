// File: opsgate/identity/jws.h
//
// Verification of compact-serialised JWS (RFC 7515 §7.1) against a configured JwkSet,
// hardened per RFC 8725:
//   - exactly three '.'-separated segments, each strict unpadded base64url (the payload
//     may be empty); token at most 16 KiB and decoded header at most 8 KiB by default;
//   - the header is a JSON object with unique member names; "alg" is a string on the
//     allow-list (never "none" in any case, never HS*: an HMAC "keyed" with a public key
//     is the classic key-confusion forgery);
//   - "crit" and "b64" are refused (no extensions implemented), "jwk" (embedded key) is
//     refused, "jku"/"x5u"/"x5c" are refused: keys come from configuration only;
//   - key selection: when the header has "kid", only keys with that exact kid are tried
//     (none → unknown_kid); otherwise every key whose type/curve fits "alg". A key with
//     an "alg" member verifies only that algorithm;
//   - signatures: RSA exactly modulus-length; PSS salt = hash length; ECDSA exactly the
//     P1363 r||s length (64/96/132 bytes; DER is refused); Ed25519 exactly 64 bytes.
//
//   core::Result<VerifiedJws> v = VerifyCompactJws(token, keys, {});
//   if (!v) { log(JoseReasonOf(v.error())); }
//
// Errors are kUnauthenticated "<reason>: <detail>" (jose_error.h).
// Thread-safety: pure function; JwkSet is immutable.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/identity/jwk.h"

namespace opsgate::identity {

struct JwsVerifyOptions {
  // Algorithms accepted; default every JwsAlg. Narrow it to what the issuer uses.
  std::vector<JwsAlg> allowed_algs = AllJwsAlgs();
  // Whole compact token, in bytes.
  size_t max_token_bytes = 16 * 1024;
  // Decoded protected header, in bytes.
  size_t max_header_bytes = 8 * 1024;
  // If set, the header's "typ" must equal this (case-insensitively, RFC 7515 §4.1.9),
  // e.g. "at+jwt" for RFC 9068 access tokens. If unset, "typ" is only type-checked.
  std::optional<std::string> expected_typ;
};

// A verified JWS. All fields are copies; nothing points into the token.
struct VerifiedJws {
  JwsAlg alg = JwsAlg::kRs256;
  // The header's kid, empty if absent.
  std::string kid;
  // The kid of the key that verified the signature (may be empty).
  std::string key_kid;
  // Decoded protected header (JSON text) and payload (bytes).
  std::string header_json;
  std::string payload;
};

// Verifies `token` with `keys`. Errors: kUnauthenticated with reasons malformed,
// too_large, alg_not_allowed, crit_unsupported, embedded_jwk, key_reference_refused,
// wrong_type, unknown_kid, no_usable_key, alg_mismatch, bad_signature.
[[nodiscard]] core::Result<VerifiedJws> VerifyCompactJws(std::string_view token,
                                                         const JwkSet& keys,
                                                         const JwsVerifyOptions& options);

// The header's "kid" WITHOUT verifying anything (for choosing a key source before
// verification): nullopt when absent. Errors as VerifyCompactJws for a bad header.
[[nodiscard]] core::Result<std::optional<std::string>> PeekKid(std::string_view token,
                                                              const JwsVerifyOptions& options);

}  // namespace opsgate::identity
