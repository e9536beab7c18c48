// File: opsgate/identity/testing/test_signer.h
//
// Test-only: freshly generated keys that sign compact JWS, and their public JWKs, so
// tests can mint tokens with any header and claims. Not for production: opsgate never
// issues JWTs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace opsgate::identity::testing {

class TestSigner {
 public:
  enum class Kind { kEs256, kRs256, kEdDsa };

  // Generates a key (RSA 2048 for kRs256, P-256, Ed25519).
  static TestSigner Generate(Kind kind, std::string kid);

  // The public JWK; `alg` adds an "alg" member, `extra` is spliced in as raw members
  // (e.g. R"("use":"enc")").
  std::string PublicJwk(std::optional<std::string> alg = std::nullopt,
                        std::string_view extra = {}) const;
  // {"keys":[PublicJwk(alg)]}
  std::string Jwks(std::optional<std::string> alg = std::nullopt) const;

  // base64url(header) "." base64url(payload) "." signature, signing with this key's
  // natural algorithm (ES256 → P1363 r||s, RS256, EdDSA) regardless of what the header says.
  std::string Sign(std::string_view header_json, std::string_view payload) const;
  // The raw signature bytes over `input` (ECDSA in P1363 unless `der`).
  std::string RawSign(std::string_view input, bool der = false) const;

  const std::string& kid() const { return kid_; }
  Kind kind() const { return kind_; }

 private:
  Kind kind_ = Kind::kEs256;
  std::string kid_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// base64url without padding.
std::string B64(std::string_view bytes);

}  // namespace opsgate::identity::testing
