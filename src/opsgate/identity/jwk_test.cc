#include "opsgate/identity/jwk.h"

#include <gtest/gtest.h>

#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/testing/test_signer.h"

namespace opsgate::identity {
namespace {

using testing::B64;
using testing::TestSigner;

constexpr std::string_view kP256 =
    R"("kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")";

std::string Obj(std::string_view members) { return "{" + std::string(members) + "}"; }

std::string_view ReasonOf(const core::Result<Jwk>& r) {
  return r ? std::string_view("ok") : JoseReasonOf(r.error());
}

TEST(Jwk, ParsesEcKeyAndIgnoresPrivateMember) {
  auto k = Jwk::Parse(Obj(std::string(kP256) +
                          R"(,"kid":"a","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")"));
  ASSERT_TRUE(k.has_value()) << k.error().message;
  EXPECT_EQ(k->kty(), KeyType::kEc);
  EXPECT_EQ(k->crv(), "P-256");
  EXPECT_EQ(k->kid(), "a");
  EXPECT_TRUE(k->CheckUsableFor(JwsAlg::kEs256).has_value());
  EXPECT_FALSE(k->CheckUsableFor(JwsAlg::kEs384).has_value());
}

TEST(Jwk, RefusesOffCurvePoint) {
  // y of the RFC 7515 A.3 key with its last byte changed: no longer on P-256.
  auto k = Jwk::Parse(
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aA"})");
  EXPECT_EQ(ReasonOf(k), "bad_key");
}

TEST(Jwk, RefusesShortCoordinatesAndUnknownCurves) {
  EXPECT_EQ(ReasonOf(Jwk::Parse(R"({"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"})")), "bad_key");
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(R"("kty":"EC","crv":"secp256k1","x":"AQ","y":"AQ")"))),
            "bad_key");
  EXPECT_EQ(ReasonOf(Jwk::Parse(R"({"kty":"OKP","crv":"Ed448","x":"AQ"})")), "bad_key");
}

TEST(Jwk, RefusesWrongUseAndKeyOps) {
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(std::string(kP256) + R"(,"use":"enc")"))), "bad_key");
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(std::string(kP256) + R"(,"key_ops":["encrypt"])"))),
            "bad_key");
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(std::string(kP256) + R"(,"key_ops":["sign","verify"])"))),
            "ok");
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(std::string(kP256) + R"(,"use":"sig")"))), "ok");
}

TEST(Jwk, RefusesSymmetricKeys) {
  EXPECT_EQ(ReasonOf(Jwk::Parse(R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"})")),
            "bad_key");
}

TEST(Jwk, RefusesWeakRsaAndBadExponent) {
  const std::string n1024 = B64(std::string(1, '\xC1') + std::string(127, '\x55'));
  EXPECT_EQ(ReasonOf(Jwk::Parse(R"({"kty":"RSA","n":")" + n1024 + R"(","e":"AQAB"})")), "bad_key");
  const TestSigner rsa = TestSigner::Generate(TestSigner::Kind::kRs256, "r");
  std::string jwk = rsa.PublicJwk();
  EXPECT_EQ(ReasonOf(Jwk::Parse(jwk)), "ok");
  const size_t e = jwk.find(R"("e":"AQAB")");
  ASSERT_NE(e, std::string::npos);
  jwk.replace(e, 10, R"("e":"AQAA")");  // even exponent
  EXPECT_EQ(ReasonOf(Jwk::Parse(jwk)), "bad_key");
}

TEST(Jwk, RefusesNonCanonicalBase64AndDuplicateMembers) {
  EXPECT_EQ(ReasonOf(Jwk::Parse(Obj(std::string(kP256) + R"(,"kty":"EC")"))), "bad_key");
  EXPECT_EQ(ReasonOf(Jwk::Parse(
                R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=",)"
                R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})")),
            "bad_key");
}

TEST(JwkSet, SkipsUnusableKeysAndKeepsTheRest) {
  const std::string doc = R"({"keys":[)" + Obj(std::string(kP256) + R"(,"kid":"sig")") + "," +
                          Obj(std::string(kP256) + R"(,"kid":"enc","use":"enc")") +
                          R"(,{"kty":"oct","k":"AAAA"},{"kty":"XYZ"},7]})";
  auto set = JwkSet::Parse(doc);
  ASSERT_TRUE(set.has_value()) << set.error().message;
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_TRUE(set->HasKid("sig"));
  EXPECT_FALSE(set->HasKid("enc"));
  EXPECT_EQ(set->skipped().size(), 4u);
}

TEST(JwkSet, RefusesDocumentsWithoutUsableKeys) {
  EXPECT_EQ(JwkSet::Parse(R"({"keys":[]})").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(JwkSet::Parse(R"({"keys":{}})").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(JwkSet::Parse(R"([1,2])").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(JwkSet::Parse("not json").error().code, core::ErrorCode::kInvalidArgument);
}

TEST(JwsAlgNames, RoundTripAndRejectHmacAndNone) {
  for (JwsAlg a : AllJwsAlgs()) {
    EXPECT_EQ(JwsAlgFromName(JwsAlgName(a)), a);
  }
  EXPECT_FALSE(JwsAlgFromName("none").has_value());
  EXPECT_FALSE(JwsAlgFromName("HS256").has_value());
  EXPECT_FALSE(JwsAlgFromName("rs256").has_value());
}

}  // namespace
}  // namespace opsgate::identity
