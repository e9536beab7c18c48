#include "opsgate/identity/jws.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>

#include "opsgate/crypto/hash.h"
#include "opsgate/identity/internal/json_util.h"
#include "opsgate/identity/internal/openssl_util.h"
#include "opsgate/identity/jose_error.h"

namespace opsgate::identity {
namespace {

using internal::BignumPtr;
using internal::EcdsaSigPtr;
using internal::EvpMdCtxPtr;

core::Error Refuse(JoseReason r, std::string_view detail) { return JoseRefusal(r, detail); }

struct ParsedJws {
  std::string_view signing_input;  // header.payload, as sent
  std::string header_json;
  std::string payload;
  std::string signature;
  JwsAlg alg = JwsAlg::kRs256;
  std::optional<std::string> kid;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Parses and checks everything except the signature.
core::Result<ParsedJws> ParseCompact(std::string_view token, const JwsVerifyOptions& opt) {
  if (token.size() > opt.max_token_bytes) {
    return core::Fail(Refuse(JoseReason::kTooLarge, "token larger than the limit"));
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return core::Fail(Refuse(JoseReason::kMalformed, "compact JWS needs exactly 3 segments"));
  }
  const std::string_view h64 = token.substr(0, dot1);
  const std::string_view p64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view s64 = token.substr(dot2 + 1);
  if (h64.empty()) {
    return core::Fail(Refuse(JoseReason::kMalformed, "empty header segment"));
  }
  if (h64.size() > (opt.max_header_bytes * 4 + 2) / 3) {
    return core::Fail(Refuse(JoseReason::kTooLarge, "header larger than the limit"));
  }
  ParsedJws out;
  out.signing_input = token.substr(0, dot2);
  auto header = crypto::Base64UrlDecode(h64);
  if (!header) {
    return core::Fail(Refuse(JoseReason::kMalformed, "header is not canonical base64url"));
  }
  auto obj = internal::ParseUniqueObject(*header);
  if (!obj) {
    return core::Fail(Refuse(JoseReason::kMalformed, "header: " + obj.error().message));
  }
  const boost::json::value* alg = obj->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) {
    return core::Fail(Refuse(JoseReason::kMalformed, "header has no string alg"));
  }
  const std::string alg_name(alg->as_string());
  const std::optional<JwsAlg> parsed_alg = JwsAlgFromName(alg_name);
  if (!parsed_alg) {
    std::string why = Lower(alg_name) == "none" ? "alg none is never accepted"
                      : alg_name.rfind("HS", 0) == 0
                          ? "HMAC algorithms are not accepted for public-key verification"
                          : "unsupported alg";
    return core::Fail(Refuse(JoseReason::kAlgNotAllowed, why));
  }
  if (std::find(opt.allowed_algs.begin(), opt.allowed_algs.end(), *parsed_alg) ==
      opt.allowed_algs.end()) {
    return core::Fail(Refuse(JoseReason::kAlgNotAllowed, alg_name + " is not on the allow-list"));
  }
  if (obj->contains("crit")) {
    return core::Fail(Refuse(JoseReason::kCritUnsupported, "no crit extension is supported"));
  }
  if (obj->contains("b64")) {
    return core::Fail(Refuse(JoseReason::kCritUnsupported, "unencoded payload (b64) unsupported"));
  }
  if (obj->contains("jwk")) {
    return core::Fail(Refuse(JoseReason::kEmbeddedJwk, "header carries its own key"));
  }
  for (std::string_view name : {"jku", "x5u", "x5c"}) {
    if (obj->contains(name)) {
      return core::Fail(Refuse(JoseReason::kKeyReferenceRefused,
                               "header member " + std::string(name) + " is not trusted"));
    }
  }
  auto kid = internal::OptionalString(*obj, "kid");
  auto typ = internal::OptionalString(*obj, "typ");
  if (!kid || !typ) {
    return core::Fail(Refuse(JoseReason::kMalformed, "kid and typ must be strings"));
  }
  if (opt.expected_typ.has_value() &&
      (!typ->has_value() || Lower(**typ) != Lower(*opt.expected_typ))) {
    return core::Fail(Refuse(JoseReason::kWrongType, "typ is not " + *opt.expected_typ));
  }
  // Segments are decoded after the header checks so that a refusal names the most
  // telling reason (alg none with an empty signature is "alg_not_allowed").
  if (s64.empty()) {
    return core::Fail(Refuse(JoseReason::kMalformed, "empty signature segment"));
  }
  auto payload = crypto::Base64UrlDecode(p64);
  if (!payload) {
    return core::Fail(Refuse(JoseReason::kMalformed, "payload is not canonical base64url"));
  }
  auto sig = crypto::Base64UrlDecode(s64);
  if (!sig) {
    return core::Fail(Refuse(JoseReason::kMalformed, "signature is not canonical base64url"));
  }
  out.header_json = std::move(*header);
  out.payload = std::move(*payload);
  out.signature = std::move(*sig);
  out.alg = *parsed_alg;
  out.kid = std::move(*kid);
  return out;
}

const EVP_MD* DigestFor(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kRs256:
    case JwsAlg::kPs256:
    case JwsAlg::kEs256:
      return EVP_sha256();
    case JwsAlg::kRs384:
    case JwsAlg::kPs384:
    case JwsAlg::kEs384:
      return EVP_sha384();
    case JwsAlg::kRs512:
    case JwsAlg::kPs512:
    case JwsAlg::kEs512:
      return EVP_sha512();
    case JwsAlg::kEdDsa:
      return nullptr;
  }
  return nullptr;
}

size_t EcCoordLen(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kEs256:
      return 32;
    case JwsAlg::kEs384:
      return 48;
    case JwsAlg::kEs512:
      return 66;
    default:
      return 0;
  }
}

bool IsPss(JwsAlg a) { return a == JwsAlg::kPs256 || a == JwsAlg::kPs384 || a == JwsAlg::kPs512; }
bool IsEc(JwsAlg a) { return EcCoordLen(a) != 0; }

// P1363 r||s → DER, which is what OpenSSL verifies. Only exact-length input is accepted:
// DER, truncated or padded signatures never reach OpenSSL.
core::Result<std::string> P1363ToDer(std::string_view sig, size_t coord) {
  if (sig.size() != 2 * coord) {
    return core::Fail(Refuse(JoseReason::kBadSignature, "ECDSA signature has the wrong length"));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  BignumPtr r(BN_bin2bn(p, static_cast<int>(coord), nullptr));
  BignumPtr s(BN_bin2bn(p + coord, static_cast<int>(coord), nullptr));
  EcdsaSigPtr es(ECDSA_SIG_new());
  if (!r || !s || !es || ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return core::Fail(core::Internal("OpenSSL could not build ECDSA_SIG"));
  }
  r.release();  // owned by es now
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(es.get(), &der);
  if (len <= 0 || der == nullptr) {
    ERR_clear_error();
    return core::Fail(core::Internal("OpenSSL could not encode ECDSA_SIG"));
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// True iff `sig` is a valid signature of `input` by `key` under `alg`.
bool VerifySignature(const Jwk& key, JwsAlg alg, std::string_view input, std::string_view sig) {
  std::string der;
  if (IsEc(alg)) {
    auto d = P1363ToDer(sig, EcCoordLen(alg));
    if (!d) {
      return false;
    }
    der = std::move(*d);
    sig = der;
  } else if (alg == JwsAlg::kEdDsa) {
    if (sig.size() != 64) {
      return false;
    }
  } else if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey()))) {
    return false;  // RSA: exactly k bytes (RFC 8017 §8.2.2 step 1)
  }
  ERR_clear_error();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, DigestFor(alg), nullptr, key.pkey()) != 1) {
    ERR_clear_error();
    return false;
  }
  if (key.kty() == KeyType::kRsa) {
    if (IsPss(alg)) {
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, DigestFor(alg)) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
        ERR_clear_error();
        return false;
      }
    } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      ERR_clear_error();
      return false;
    }
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                                  sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                                  input.size());
  ERR_clear_error();
  return rc == 1;
}

}  // namespace

core::Result<std::optional<std::string>> PeekKid(std::string_view token,
                                                const JwsVerifyOptions& options) {
  auto parsed = ParseCompact(token, options);
  if (!parsed) {
    return core::Fail(parsed.error());
  }
  return std::move(parsed->kid);
}

core::Result<VerifiedJws> VerifyCompactJws(std::string_view token, const JwkSet& keys,
                                           const JwsVerifyOptions& options) {
  auto parsed = ParseCompact(token, options);
  if (!parsed) {
    return core::Fail(parsed.error());
  }
  const ParsedJws& p = *parsed;
  std::vector<const Jwk*> candidates;
  for (const Jwk& k : keys.keys()) {
    if (p.kid.has_value() ? k.kid() == *p.kid : k.TypeFits(p.alg)) {
      candidates.push_back(&k);
    }
  }
  if (candidates.empty()) {
    return core::Fail(p.kid.has_value()
                          ? Refuse(JoseReason::kUnknownKid, "no key with the token's kid")
                          : Refuse(JoseReason::kNoUsableKey,
                                   "no key can verify " + std::string(JwsAlgName(p.alg))));
  }
  std::optional<core::Error> mismatch;
  bool tried = false;
  for (const Jwk* k : candidates) {
    if (auto usable = k->CheckUsableFor(p.alg); !usable) {
      mismatch = usable.error();
      continue;
    }
    tried = true;
    if (VerifySignature(*k, p.alg, p.signing_input, p.signature)) {
      VerifiedJws out;
      out.alg = p.alg;
      out.kid = p.kid.value_or("");
      out.key_kid = k->kid();
      out.header_json = p.header_json;
      out.payload = p.payload;
      return out;
    }
  }
  if (!tried && mismatch.has_value()) {
    return core::Fail(*mismatch);
  }
  return core::Fail(Refuse(JoseReason::kBadSignature, "signature does not verify"));
}

}  // namespace opsgate::identity
