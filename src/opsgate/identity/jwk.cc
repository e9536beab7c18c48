#include "opsgate/identity/jwk.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>

#include "opsgate/crypto/hash.h"
#include "opsgate/identity/internal/json_util.h"
#include "opsgate/identity/internal/openssl_util.h"
#include "opsgate/identity/jose_error.h"

namespace opsgate::identity {
namespace {

using internal::BignumPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::ParamBldPtr;
using internal::ParamPtr;

constexpr size_t kMaxJwksBytes = 1 << 20;
constexpr size_t kMaxJwksKeys = 100;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;

struct AlgInfo {
  JwsAlg alg;
  std::string_view name;
};

constexpr std::array<AlgInfo, 10> kAlgs = {{
    {JwsAlg::kRs256, "RS256"},
    {JwsAlg::kRs384, "RS384"},
    {JwsAlg::kRs512, "RS512"},
    {JwsAlg::kPs256, "PS256"},
    {JwsAlg::kPs384, "PS384"},
    {JwsAlg::kPs512, "PS512"},
    {JwsAlg::kEs256, "ES256"},
    {JwsAlg::kEs384, "ES384"},
    {JwsAlg::kEs512, "ES512"},
    {JwsAlg::kEdDsa, "EdDSA"},
}};

core::Error BadKey(std::string_view detail) { return JoseRefusal(JoseReason::kBadKey, detail); }

core::Result<std::string> RequiredB64(const boost::json::object& obj, std::string_view name) {
  auto s = internal::OptionalString(obj, name);
  if (!s) {
    return core::Fail(BadKey(s.error().message));
  }
  if (!s->has_value() || (*s)->empty()) {
    return core::Fail(BadKey("missing member " + std::string(name)));
  }
  auto bytes = crypto::Base64UrlDecode(**s);
  if (!bytes) {
    return core::Fail(BadKey(std::string(name) + " is not canonical base64url"));
  }
  return std::move(*bytes);
}

std::shared_ptr<evp_pkey_st> Share(EvpPkeyPtr p) {
  return std::shared_ptr<evp_pkey_st>(p.release(), EVP_PKEY_free);
}

core::Result<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    ERR_clear_error();
    return core::Fail(core::Internal("OpenSSL could not set up key import"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 ||
      raw == nullptr) {
    ERR_clear_error();
    return core::Fail(BadKey("OpenSSL refused the key parameters"));
  }
  return EvpPkeyPtr(raw);
}

core::Result<EvpPkeyPtr> RsaKey(const boost::json::object& obj) {
  auto n = RequiredB64(obj, "n");
  if (!n) {
    return core::Fail(n.error());
  }
  auto e = RequiredB64(obj, "e");
  if (!e) {
    return core::Fail(e.error());
  }
  if (static_cast<unsigned char>((*n)[0]) == 0 || static_cast<unsigned char>((*e)[0]) == 0) {
    return core::Fail(BadKey("RSA n/e has leading zero bytes"));
  }
  const int bits = static_cast<int>(n->size() * 8);
  if (bits < kMinRsaBits || bits > kMaxRsaBits + 7) {
    return core::Fail(BadKey("RSA modulus must be 2048..16384 bits"));
  }
  if (e->size() > 8 || (static_cast<unsigned char>(e->back()) & 1) == 0 ||
      (e->size() == 1 && static_cast<unsigned char>((*e)[0]) < 3)) {
    return core::Fail(BadKey("RSA exponent must be odd, >= 3 and at most 64 bits"));
  }
  BignumPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) <= 0) {
    ERR_clear_error();
    return core::Fail(core::Internal("OpenSSL could not build RSA parameters"));
  }
  return FromData("RSA", bld.get());
}

struct Curve {
  std::string_view jwk_name;
  const char* group;
  size_t coord_len;
};

constexpr std::array<Curve, 3> kCurves = {{
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
}};

core::Result<EvpPkeyPtr> EcKey(const boost::json::object& obj, const std::string& crv) {
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves) {
    if (c.jwk_name == crv) {
      curve = &c;
    }
  }
  if (curve == nullptr) {
    return core::Fail(BadKey("unsupported EC curve"));
  }
  auto x = RequiredB64(obj, "x");
  if (!x) {
    return core::Fail(x.error());
  }
  auto y = RequiredB64(obj, "y");
  if (!y) {
    return core::Fail(y.error());
  }
  // RFC 7518 §6.2.1.2: coordinates are always the full size of a field element.
  if (x->size() != curve->coord_len || y->size() != curve->coord_len) {
    return core::Fail(BadKey("EC coordinate has the wrong length for " + crv));
  }
  std::string point = "\x04" + *x + *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) <=
          0 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) <= 0) {
    ERR_clear_error();
    return core::Fail(core::Internal("OpenSSL could not build EC parameters"));
  }
  auto key = FromData("EC", bld.get());
  if (!key) {
    return key;
  }
  // Import does not promise a full check; an off-curve point enables invalid-curve attacks.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return core::Fail(BadKey("EC point is not on the curve"));
  }
  return key;
}

core::Result<EvpPkeyPtr> OkpKey(const boost::json::object& obj, const std::string& crv) {
  if (crv != "Ed25519") {
    return core::Fail(BadKey("unsupported OKP curve (only Ed25519)"));
  }
  auto x = RequiredB64(obj, "x");
  if (!x) {
    return core::Fail(x.error());
  }
  if (x->size() != 32) {
    return core::Fail(BadKey("Ed25519 public key must be 32 bytes"));
  }
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (raw == nullptr) {
    ERR_clear_error();
    return core::Fail(BadKey("OpenSSL refused the Ed25519 key"));
  }
  return EvpPkeyPtr(raw);
}

}  // namespace

std::string_view JwsAlgName(JwsAlg alg) {
  for (const AlgInfo& a : kAlgs) {
    if (a.alg == alg) {
      return a.name;
    }
  }
  return "?";
}

std::optional<JwsAlg> JwsAlgFromName(std::string_view name) {
  for (const AlgInfo& a : kAlgs) {
    if (a.name == name) {
      return a.alg;
    }
  }
  return std::nullopt;
}

const std::vector<JwsAlg>& AllJwsAlgs() {
  static const std::vector<JwsAlg> kAll = [] {
    std::vector<JwsAlg> v;
    for (const AlgInfo& a : kAlgs) {
      v.push_back(a.alg);
    }
    return v;
  }();
  return kAll;
}

namespace internal {

core::Result<Jwk> ParseJwkObject(const boost::json::object& obj);

}  // namespace internal

core::Result<Jwk> Jwk::Parse(std::string_view json) {
  if (json.size() > 64 * 1024) {
    return core::Fail(BadKey("JWK larger than 64 KiB"));
  }
  auto obj = internal::ParseUniqueObject(json);
  if (!obj) {
    return core::Fail(BadKey(obj.error().message));
  }
  return internal::ParseJwkObject(*obj);
}

namespace internal {

// Shared by Jwk::Parse and JwkSet::Parse; a friend-free path into Jwk's fields.
struct JwkBuilder {
  static core::Result<Jwk> Build(const boost::json::object& obj);
};

core::Result<Jwk> ParseJwkObject(const boost::json::object& obj) { return JwkBuilder::Build(obj); }

}  // namespace internal

bool Jwk::TypeFits(JwsAlg alg) const {
  switch (alg) {
    case JwsAlg::kRs256:
    case JwsAlg::kRs384:
    case JwsAlg::kRs512:
    case JwsAlg::kPs256:
    case JwsAlg::kPs384:
    case JwsAlg::kPs512:
      return kty_ == KeyType::kRsa;
    case JwsAlg::kEs256:
      return kty_ == KeyType::kEc && crv_ == "P-256";
    case JwsAlg::kEs384:
      return kty_ == KeyType::kEc && crv_ == "P-384";
    case JwsAlg::kEs512:
      return kty_ == KeyType::kEc && crv_ == "P-521";
    case JwsAlg::kEdDsa:
      return kty_ == KeyType::kOkp && crv_ == "Ed25519";
  }
  return false;
}

core::Status Jwk::CheckUsableFor(JwsAlg alg) const {
  if (!TypeFits(alg)) {
    return core::Fail(JoseRefusal(JoseReason::kAlgMismatch,
                                  "key type/curve cannot verify " + std::string(JwsAlgName(alg))));
  }
  if (alg_.has_value() && *alg_ != JwsAlgName(alg)) {
    return core::Fail(JoseRefusal(JoseReason::kAlgMismatch,
                                  "key is bound to alg " + *alg_ + ", token uses " +
                                      std::string(JwsAlgName(alg))));
  }
  return core::Ok();
}

bool JwkSet::HasKid(std::string_view kid) const {
  for (const Jwk& k : keys_) {
    if (k.kid() == kid) {
      return true;
    }
  }
  return false;
}

core::Result<JwkSet> JwkSet::Parse(std::string_view json) {
  if (json.size() > kMaxJwksBytes) {
    return core::Fail(core::InvalidArgument("JWKS document larger than 1 MiB"));
  }
  auto obj = internal::ParseUniqueObject(json);
  if (!obj) {
    return core::Fail(core::InvalidArgument("JWKS: " + obj.error().message));
  }
  const boost::json::value* keys = obj->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return core::Fail(core::InvalidArgument("JWKS has no \"keys\" array"));
  }
  const boost::json::array& arr = keys->as_array();
  if (arr.size() > kMaxJwksKeys) {
    return core::Fail(core::InvalidArgument("JWKS has more than 100 keys"));
  }
  JwkSet set;
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string label = "keys[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) {
      set.skipped_.push_back(label + ": not a JSON object");
      continue;
    }
    const boost::json::object& k = arr[i].as_object();
    if (const auto* kid = k.if_contains("kid"); kid != nullptr && kid->is_string()) {
      label += " (kid " + std::string(kid->as_string()) + ")";
    }
    auto jwk = internal::ParseJwkObject(k);
    if (!jwk) {
      set.skipped_.push_back(label + ": " + jwk.error().message);
      continue;
    }
    set.keys_.push_back(std::move(*jwk));
  }
  if (set.keys_.empty()) {
    return core::Fail(core::InvalidArgument("JWKS has no usable signature-verification key"));
  }
  return set;
}

namespace internal {

core::Result<Jwk> JwkBuilder::Build(const boost::json::object& obj) {
  auto kty = OptionalString(obj, "kty");
  if (!kty || !kty->has_value()) {
    return core::Fail(BadKey("missing or non-string kty"));
  }
  auto kid = OptionalString(obj, "kid");
  auto use = OptionalString(obj, "use");
  auto alg = OptionalString(obj, "alg");
  auto crv = OptionalString(obj, "crv");
  if (!kid || !use || !alg || !crv) {
    return core::Fail(BadKey("kid, use, alg and crv must be strings"));
  }
  if (use->has_value() && **use != "sig") {
    return core::Fail(BadKey("use is \"" + **use + "\", not \"sig\""));
  }
  if (const boost::json::value* ops = obj.if_contains("key_ops"); ops != nullptr) {
    if (!ops->is_array()) {
      return core::Fail(BadKey("key_ops is not an array"));
    }
    bool verify = false;
    for (const boost::json::value& op : ops->as_array()) {
      if (!op.is_string()) {
        return core::Fail(BadKey("key_ops holds a non-string"));
      }
      verify = verify || op.as_string() == "verify";
    }
    if (!verify) {
      return core::Fail(BadKey("key_ops does not include \"verify\""));
    }
  }
  Jwk jwk;
  jwk.kid_ = kid->value_or("");
  jwk.alg_ = *alg;
  jwk.crv_ = crv->value_or("");
  core::Result<EvpPkeyPtr> key = core::Fail(BadKey("unreachable"));
  const std::string& t = **kty;
  if (t == "RSA") {
    jwk.kty_ = KeyType::kRsa;
    jwk.crv_.clear();
    key = RsaKey(obj);
  } else if (t == "EC") {
    jwk.kty_ = KeyType::kEc;
    key = EcKey(obj, jwk.crv_);
  } else if (t == "OKP") {
    jwk.kty_ = KeyType::kOkp;
    key = OkpKey(obj, jwk.crv_);
  } else if (t == "oct") {
    return core::Fail(BadKey("symmetric (oct) keys are never verification keys"));
  } else {
    return core::Fail(BadKey("unsupported kty \"" + t + "\""));
  }
  if (!key) {
    return core::Fail(key.error());
  }
  jwk.pkey_ = Share(std::move(*key));
  return jwk;
}

}  // namespace internal
}  // namespace opsgate::identity
