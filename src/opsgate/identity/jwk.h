// File: opsgate/identity/jwk.h
//
// JSON Web Keys (RFC 7517) for signature verification: RSA (n, e), EC P-256/P-384/P-521
// (x, y, checked to lie on the curve) and OKP Ed25519 (x), each turned into an OpenSSL
// EVP_PKEY. Only public verification keys exist here:
//   - "kty":"oct" (symmetric) keys are refused: an HMAC key has no place in a set of
//     public keys, and refusing it closes HS256 key confusion at the key level too.
//   - private members ("d", "p", "q", ...) are accepted and ignored; only the public
//     part is loaded, so a provider that publishes a full key does not break login
//     (the leak is theirs to fix, not a reason to lock users out).
//   - "use", if present, must be "sig"; "key_ops", if present, must contain "verify".
//   - "alg", if present, binds the key: it verifies that algorithm only.
//   - RSA moduli must be 2048..16384 bits; EC coordinates must be full length.
//
//   core::Result<JwkSet> keys = JwkSet::Parse(jwks_json);
//   const Jwk* k = keys->FindByKid("2024-05");
//
// Ownership: Jwk and JwkSet are values; copies share the immutable EVP_PKEY.
// Thread-safety: immutable after construction; safe to share between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace opsgate::identity {

namespace internal {
struct JwkBuilder;
}  // namespace internal

// The JWS algorithms opsgate can verify (RFC 7518 §3, RFC 8037). HS* and "none" are
// deliberately absent: they cannot be expressed.
enum class JwsAlg {
  kRs256,  // RSASSA-PKCS1-v1_5 with SHA-256
  kRs384,  // RSASSA-PKCS1-v1_5 with SHA-384
  kRs512,  // RSASSA-PKCS1-v1_5 with SHA-512
  kPs256,  // RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32
  kPs384,  // RSASSA-PSS with SHA-384, MGF1-SHA-384, salt length 48
  kPs512,  // RSASSA-PSS with SHA-512, MGF1-SHA-512, salt length 64
  kEs256,  // ECDSA P-256 with SHA-256, 64-byte r||s signature
  kEs384,  // ECDSA P-384 with SHA-384, 96-byte r||s signature
  kEs512,  // ECDSA P-521 with SHA-512, 132-byte r||s signature
  kEdDsa,  // Ed25519 (RFC 8037), 64-byte signature
};

// "RS256", "EdDSA", ...
std::string_view JwsAlgName(JwsAlg alg);
// Exact (case-sensitive) name lookup; nullopt for anything else, including "none"/"HS256".
std::optional<JwsAlg> JwsAlgFromName(std::string_view name);
// Every JwsAlg, the default allow-list.
const std::vector<JwsAlg>& AllJwsAlgs();

enum class KeyType {
  kRsa,  // "RSA"
  kEc,   // "EC"
  kOkp,  // "OKP" (Ed25519 only)
};

class Jwk {
 public:
  // Parses one JWK (a JSON object). Errors: kUnauthenticated "bad_key: ..." for anything
  // unusable (malformed member, unsupported kty/crv, off-curve point, wrong use/key_ops,
  // weak RSA modulus, symmetric key).
  [[nodiscard]] static core::Result<Jwk> Parse(std::string_view json);

  const std::string& kid() const { return kid_; }
  KeyType kty() const { return kty_; }
  // "P-256", "P-384", "P-521", "Ed25519"; empty for RSA.
  const std::string& crv() const { return crv_; }
  // The "alg" member verbatim, if present.
  const std::optional<std::string>& alg() const { return alg_; }

  // Ok iff this key may verify `alg`: key type and curve fit the algorithm, and the
  // key's "alg" member (if any) names exactly `alg`. Else kUnauthenticated "alg_mismatch".
  [[nodiscard]] core::Status CheckUsableFor(JwsAlg alg) const;

  // True iff the key type and curve fit `alg` (ignores the "alg" member).
  bool TypeFits(JwsAlg alg) const;

  // The OpenSSL key. Never null for a parsed Jwk.
  evp_pkey_st* pkey() const { return pkey_.get(); }

 private:
  friend struct internal::JwkBuilder;
  Jwk() = default;

  std::string kid_;
  KeyType kty_ = KeyType::kRsa;
  std::string crv_;
  std::optional<std::string> alg_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// A JWK Set ({"keys":[...]}, RFC 7517 §5).
class JwkSet {
 public:
  JwkSet() = default;
  explicit JwkSet(std::vector<Jwk> keys) : keys_(std::move(keys)) {}

  // Parses a JWKS document. Keys that are unusable for verification (encryption keys,
  // symmetric keys, unsupported types, malformed members) are skipped and described in
  // skipped(), because real providers publish such keys next to their signing keys.
  // Errors: kInvalidArgument when the document is not a JSON object with a "keys" array,
  // is larger than 1 MiB, has more than 100 keys, or yields no usable key.
  [[nodiscard]] static core::Result<JwkSet> Parse(std::string_view json);

  const std::vector<Jwk>& keys() const { return keys_; }
  // One line per skipped key ("keys[2] (kid x): bad_key: use is not sig").
  const std::vector<std::string>& skipped() const { return skipped_; }
  bool empty() const { return keys_.empty(); }
  // True iff some key has this exact kid.
  bool HasKid(std::string_view kid) const;

 private:
  std::vector<Jwk> keys_;
  std::vector<std::string> skipped_;
};

}  // namespace opsgate::identity
