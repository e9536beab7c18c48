// File: opsgate/identity/jose_error.h
//
// Why a token was refused. Every refusal by the JOSE code (jwk.h, jws.h, jwt.h) is a
// core::Error with code kUnauthenticated (kInvalidArgument for configuration such as a
// malformed JWKS document) whose message starts with a stable reason word followed by
// ": " and a human-readable detail, e.g. "bad_signature: signature does not verify".
// Callers log and count by the reason word (JoseReasonOf), never by the detail text.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/error.h"

namespace opsgate::identity {

enum class JoseReason {
  // Not a well-formed compact JWS/JWT: segment count, base64url, JSON, types.
  kMalformed,
  // Token or header larger than the configured limits.
  kTooLarge,
  // "alg" is none, HS*, unknown, or outside the configured allow-list.
  kAlgNotAllowed,
  // The selected key is bound to another algorithm (its "alg" member) or is of the wrong
  // type/curve for the token's algorithm.
  kAlgMismatch,
  // The header names a "kid" absent from the key set.
  kUnknownKid,
  // No key in the set can verify this algorithm.
  kNoUsableKey,
  // The signature does not verify (or has the wrong length/encoding).
  kBadSignature,
  // The header has "crit" (or "b64"), an extension opsgate does not implement.
  kCritUnsupported,
  // The header carries its own verification key ("jwk").
  kEmbeddedJwk,
  // The header points at a key elsewhere ("jku", "x5u", "x5c"); keys come only from
  // configuration.
  kKeyReferenceRefused,
  // The key itself is unusable: wrong "use"/"key_ops", bad parameters, off-curve, weak.
  kBadKey,
  // JWT: "exp" is in the past (beyond the skew).
  kExpired,
  // JWT: "nbf" is in the future (beyond the skew).
  kNotYetValid,
  // JWT: "iat" is in the future (beyond the skew).
  kIssuedInFuture,
  // JWT: "iss" differs from the expected issuer.
  kWrongIssuer,
  // JWT: "aud" does not contain the expected audience.
  kWrongAudience,
  // JWT: a required claim is missing.
  kMissingClaim,
  // JWT: a claim has the wrong JSON type (e.g. "exp" as a string).
  kBadClaimType,
  // JWT: "nonce" differs from the one sent in the authorization request.
  kNonceMismatch,
  // JWT: "typ" differs from the expected type.
  kWrongType,
};

// Stable snake_case word ("alg_not_allowed", "bad_signature", ...).
std::string_view JoseReasonName(JoseReason reason);

// kUnauthenticated error "<reason>: <detail>".
core::Error JoseRefusal(JoseReason reason, std::string_view detail);

// The reason word at the start of an error message produced by JoseRefusal, or "" when
// the message does not start with a known reason word.
std::string_view JoseReasonOf(const core::Error& error);

}  // namespace opsgate::identity
