// Fuzzes the compact JWS/JWT parser and verifier with a fixed JWKS (RFC 7515 A.3 P-256
// key, an Ed25519 key and an RSA key). Properties: never crash; anything accepted has
// the expected issuer and audience and a payload that re-verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/jwk.h"
#include "opsgate/identity/jws.h"
#include "opsgate/identity/jwt.h"

namespace {

class FixedClock final : public opsgate::core::Clock {
 public:
  WallTime Now() const override { return WallTime(std::chrono::seconds(1'300'000'000)); }
  SteadyTime SteadyNow() const override { return SteadyTime(); }
};

constexpr std::string_view kJwks = R"({"keys":[
 {"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
 {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
 {"kty":"RSA","kid":"rsa","alg":"RS256","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}
]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace opsgate::identity;  // NOLINT
  static const JwkSet keys = [] {
    auto k = JwkSet::Parse(kJwks);
    if (!k || k->keys().size() != 3) {
      std::abort();
    }
    return *k;
  }();
  static const FixedClock clock;
  static const JwtVerifier verifier(
      [] {
        JwtValidationOptions o;
        o.issuer = "joe";
        o.audience = "opsgate";
        return o;
      }(),
      clock);
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto jws = VerifyCompactJws(token, keys, {});
  if (jws) {
    // Accepted JWS must verify again identically (no hidden state).
    auto again = VerifyCompactJws(token, keys, {});
    if (!again || again->payload != jws->payload) {
      std::abort();
    }
  } else if (JoseReasonOf(jws.error()).empty()) {
    std::abort();  // every refusal carries a reason word
  }
  auto claims = verifier.Verify(token, keys);
  if (claims && (claims->iss != "joe" || !jws)) {
    std::abort();
  }
  (void)ValidateClaims(token, verifier.options(), 1'300'000'000);
  (void)JwkSet::Parse(token);
  return 0;
}
