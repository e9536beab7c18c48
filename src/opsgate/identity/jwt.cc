#include "opsgate/identity/jwt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "opsgate/crypto/hash.h"
#include "opsgate/identity/internal/json_util.h"
#include "opsgate/identity/jose_error.h"

namespace opsgate::identity {
namespace {

constexpr int64_t kMaxSkewSeconds = 300;

core::Error Refuse(JoseReason r, std::string_view detail) { return JoseRefusal(r, detail); }

// A NumericDate (RFC 7519 §2): a JSON number of seconds, fractional allowed (floored).
// Strings, booleans and non-finite or absurd values are refused.
core::Result<std::optional<int64_t>> NumericDate(const boost::json::object& obj,
                                                 std::string_view name) {
  const boost::json::value* v = obj.if_contains(name);
  if (v == nullptr) {
    return std::optional<int64_t>();
  }
  constexpr int64_t kMax = int64_t{1} << 40;  // ~ year 36812; keeps arithmetic far from overflow
  if (v->is_int64()) {
    const int64_t i = v->as_int64();
    if (i < 0 || i > kMax) {
      return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " out of range"));
    }
    return std::optional<int64_t>(i);
  }
  if (v->is_uint64()) {
    return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " out of range"));
  }
  if (v->is_double()) {
    const double d = v->as_double();
    if (!std::isfinite(d) || d < 0 || d > static_cast<double>(kMax)) {
      return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " out of range"));
    }
    return std::optional<int64_t>(static_cast<int64_t>(std::floor(d)));
  }
  return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " is not a number"));
}

core::Result<std::optional<std::string>> StringClaim(const boost::json::object& obj,
                                                     std::string_view name) {
  auto s = internal::OptionalString(obj, name);
  if (!s) {
    return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " is not a string"));
  }
  return std::move(*s);
}

// A string or an array of strings (aud, groups, amr).
core::Result<std::vector<std::string>> StringList(const boost::json::object& obj,
                                                  std::string_view name, bool allow_single) {
  std::vector<std::string> out;
  const boost::json::value* v = obj.if_contains(name);
  if (v == nullptr) {
    return out;
  }
  if (allow_single && v->is_string()) {
    out.emplace_back(v->as_string());
    return out;
  }
  if (!v->is_array()) {
    return core::Fail(Refuse(JoseReason::kBadClaimType, std::string(name) + " is not an array"));
  }
  for (const boost::json::value& e : v->as_array()) {
    if (!e.is_string()) {
      return core::Fail(
          Refuse(JoseReason::kBadClaimType, std::string(name) + " holds a non-string"));
    }
    out.emplace_back(e.as_string());
  }
  return out;
}

#define OPSGATE_ASSIGN_OR_RETURN(lhs, expr) \
  do {                                      \
    auto opsgate_r_ = (expr);               \
    if (!opsgate_r_) {                      \
      return core::Fail(opsgate_r_.error()); \
    }                                       \
    lhs = std::move(*opsgate_r_);           \
  } while (false)

}  // namespace

core::Result<Claims> ValidateClaims(std::string_view claims_json,
                                    const JwtValidationOptions& options, int64_t now_unix) {
  auto parsed = internal::ParseUniqueObject(claims_json);
  if (!parsed) {
    return core::Fail(Refuse(JoseReason::kMalformed, "claims: " + parsed.error().message));
  }
  const boost::json::object& obj = *parsed;
  const int64_t skew =
      std::clamp<int64_t>(options.clock_skew.count(), 0, kMaxSkewSeconds);
  Claims c;
  c.raw_json = std::string(claims_json);

  std::optional<std::string> iss;
  OPSGATE_ASSIGN_OR_RETURN(iss, StringClaim(obj, "iss"));
  if (!iss.has_value()) {
    return core::Fail(Refuse(JoseReason::kMissingClaim, "iss is missing"));
  }
  if (options.issuer.empty() || *iss != options.issuer) {
    return core::Fail(Refuse(JoseReason::kWrongIssuer, "iss is not the expected issuer"));
  }
  c.iss = std::move(*iss);

  OPSGATE_ASSIGN_OR_RETURN(c.aud, StringList(obj, "aud", /*allow_single=*/true));
  if (c.aud.empty() && !obj.contains("aud")) {
    return core::Fail(Refuse(JoseReason::kMissingClaim, "aud is missing"));
  }
  if (options.audience.empty() ||
      std::find(c.aud.begin(), c.aud.end(), options.audience) == c.aud.end()) {
    return core::Fail(Refuse(JoseReason::kWrongAudience, "aud does not contain the audience"));
  }

  std::optional<int64_t> exp;
  OPSGATE_ASSIGN_OR_RETURN(exp, NumericDate(obj, "exp"));
  OPSGATE_ASSIGN_OR_RETURN(c.nbf, NumericDate(obj, "nbf"));
  OPSGATE_ASSIGN_OR_RETURN(c.iat, NumericDate(obj, "iat"));
  OPSGATE_ASSIGN_OR_RETURN(c.auth_time, NumericDate(obj, "auth_time"));
  if (!exp.has_value()) {
    return core::Fail(Refuse(JoseReason::kMissingClaim, "exp is missing"));
  }
  c.exp = *exp;
  if (now_unix >= c.exp + skew) {
    return core::Fail(Refuse(JoseReason::kExpired, "token expired"));
  }
  if (c.nbf.has_value() && now_unix + skew < *c.nbf) {
    return core::Fail(Refuse(JoseReason::kNotYetValid, "token not valid yet (nbf)"));
  }
  if (!c.iat.has_value() && options.require_issued_at) {
    return core::Fail(Refuse(JoseReason::kMissingClaim, "iat is missing"));
  }
  if (c.iat.has_value() && *c.iat > now_unix + skew) {
    return core::Fail(Refuse(JoseReason::kIssuedInFuture, "iat is in the future"));
  }

  std::optional<std::string> sub;
  OPSGATE_ASSIGN_OR_RETURN(sub, StringClaim(obj, "sub"));
  if (options.require_subject && (!sub.has_value() || sub->empty())) {
    return core::Fail(Refuse(JoseReason::kMissingClaim, "sub is missing"));
  }
  c.sub = sub.value_or("");

  OPSGATE_ASSIGN_OR_RETURN(c.nonce, StringClaim(obj, "nonce"));
  if (options.nonce.has_value()) {
    if (!c.nonce.has_value()) {
      return core::Fail(Refuse(JoseReason::kNonceMismatch, "nonce is missing"));
    }
    if (!crypto::ConstantTimeEquals(*c.nonce, *options.nonce)) {
      return core::Fail(Refuse(JoseReason::kNonceMismatch, "nonce does not match"));
    }
  }
  OPSGATE_ASSIGN_OR_RETURN(c.acr, StringClaim(obj, "acr"));
  OPSGATE_ASSIGN_OR_RETURN(c.email, StringClaim(obj, "email"));
  if (const boost::json::value* ev = obj.if_contains("email_verified"); ev != nullptr) {
    if (!ev->is_bool()) {
      return core::Fail(Refuse(JoseReason::kBadClaimType, "email_verified is not a boolean"));
    }
    c.email_verified = ev->as_bool();
  }
  OPSGATE_ASSIGN_OR_RETURN(c.amr, StringList(obj, "amr", /*allow_single=*/false));
  if (!options.groups_claim.empty()) {
    OPSGATE_ASSIGN_OR_RETURN(c.groups, StringList(obj, options.groups_claim, true));
  }
  return c;
}

JwtVerifier::JwtVerifier(JwtValidationOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

core::Result<Claims> JwtVerifier::Verify(std::string_view token, const JwkSet& keys) const {
  auto jws = VerifyCompactJws(token, keys, options_.jws);
  if (!jws) {
    return core::Fail(jws.error());
  }
  auto claims = ValidateClaims(jws->payload, options_, clock_.UnixSeconds());
  if (!claims) {
    return claims;
  }
  claims->key_kid = jws->key_kid;
  claims->alg = jws->alg;
  return claims;
}

core::Result<Claims> JwtVerifier::Verify(std::string_view token, KeySource& keys) const {
  auto kid = PeekKid(token, options_.jws);
  if (!kid) {
    return core::Fail(kid.error());
  }
  auto set = keys.KeysFor(*kid);
  if (!set) {
    return core::Fail(set.error());
  }
  return Verify(token, **set);
}

#undef OPSGATE_ASSIGN_OR_RETURN

}  // namespace opsgate::identity
