#include "opsgate/identity/testing/test_signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <stdexcept>

#include "opsgate/crypto/hash.h"

namespace opsgate::identity::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(what);
  }
}

std::string BnBytes(EVP_PKEY* k, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(k, name, &bn) == 1, name);
  std::string out(static_cast<size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

}  // namespace

std::string B64(std::string_view bytes) { return crypto::Base64UrlEncode(bytes); }

TestSigner TestSigner::Generate(Kind kind, std::string kid) {
  EVP_PKEY* k = nullptr;
  switch (kind) {
    case Kind::kEs256:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Kind::kRs256:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case Kind::kEdDsa:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  Check(k != nullptr, "keygen");
  TestSigner s;
  s.kind_ = kind;
  s.kid_ = std::move(kid);
  s.pkey_ = std::shared_ptr<evp_pkey_st>(k, EVP_PKEY_free);
  return s;
}

std::string TestSigner::PublicJwk(std::optional<std::string> alg, std::string_view extra) const {
  std::string j = "{";
  EVP_PKEY* k = pkey_.get();
  switch (kind_) {
    case Kind::kEs256:
      j += R"("kty":"EC","crv":"P-256","x":")" + B64(BnBytes(k, OSSL_PKEY_PARAM_EC_PUB_X, 32)) +
           R"(","y":")" + B64(BnBytes(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"";
      break;
    case Kind::kRs256:
      j += R"("kty":"RSA","n":")" + B64(BnBytes(k, OSSL_PKEY_PARAM_RSA_N, 0)) + R"(","e":")" +
           B64(BnBytes(k, OSSL_PKEY_PARAM_RSA_E, 0)) + "\"";
      break;
    case Kind::kEdDsa: {
      unsigned char raw[32];
      size_t len = sizeof(raw);
      Check(EVP_PKEY_get_raw_public_key(k, raw, &len) == 1, "raw pub");
      j += R"("kty":"OKP","crv":"Ed25519","x":")" +
           B64(std::string_view(reinterpret_cast<char*>(raw), len)) + "\"";
      break;
    }
  }
  if (!kid_.empty()) {
    j += R"(,"kid":")" + kid_ + "\"";
  }
  if (alg.has_value()) {
    j += R"(,"alg":")" + *alg + "\"";
  }
  if (!extra.empty()) {
    j += ",";
    j += extra;
  }
  return j + "}";
}

std::string TestSigner::Jwks(std::optional<std::string> alg) const {
  return R"({"keys":[)" + PublicJwk(std::move(alg)) + "]}";
}

std::string TestSigner::RawSign(std::string_view input, bool der) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = kind_ == Kind::kEdDsa ? nullptr : EVP_sha256();
  Check(EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_.get()) == 1, "sign init");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  Check(EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1, "sign len");
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       input.size()) == 1,
        "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (kind_ != Kind::kEs256 || der) {
    return sig;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  Check(es != nullptr, "d2i");
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return out;
}

std::string TestSigner::Sign(std::string_view header_json, std::string_view payload) const {
  const std::string input = B64(header_json) + "." + B64(payload);
  return input + "." + B64(RawSign(input));
}

}  // namespace opsgate::identity::testing
