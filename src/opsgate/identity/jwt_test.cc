#include "opsgate/identity/jwt.h"

#include <gtest/gtest.h>

#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/testing/test_signer.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity {
namespace {

using testing::TestSigner;

constexpr int64_t kNow = 1'700'000'000;

JwtValidationOptions Opts() {
  JwtValidationOptions o;
  o.issuer = "https://idp.example.com";
  o.audience = "opsgate";
  return o;
}

std::string Claims(std::string_view extra = {}) {
  std::string c = R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u1","exp":)" +
                  std::to_string(kNow + 600) + R"(,"iat":)" + std::to_string(kNow);
  if (!extra.empty()) {
    c += ",";
    c += extra;
  }
  return c + "}";
}

std::string_view ReasonOf(const core::Result<identity::Claims>& r) {
  return r ? std::string_view("ok") : JoseReasonOf(r.error());
}

TEST(ValidateClaims, AcceptsAndMapsTypedClaims) {
  auto opts = Opts();
  opts.groups_claim = "cognito:groups";
  opts.nonce = "n-123";
  auto c = ValidateClaims(
      Claims(R"("nbf":1699999990,"auth_time":1699999000,"amr":["pwd","mfa"],"acr":"2",)"
             R"("nonce":"n-123","email":"a@example.com","email_verified":true,)"
             R"("cognito:groups":["ops","admins"],"custom":{"x":1})"),
      opts, kNow);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->iss, "https://idp.example.com");
  EXPECT_EQ(c->sub, "u1");
  EXPECT_EQ(c->aud, std::vector<std::string>{"opsgate"});
  EXPECT_EQ(c->exp, kNow + 600);
  EXPECT_EQ(c->iat, kNow);
  EXPECT_EQ(c->nbf, 1699999990);
  EXPECT_EQ(c->auth_time, 1699999000);
  EXPECT_EQ(c->amr, (std::vector<std::string>{"pwd", "mfa"}));
  EXPECT_EQ(c->acr, "2");
  EXPECT_EQ(c->email, "a@example.com");
  EXPECT_EQ(c->email_verified, true);
  EXPECT_EQ(c->groups, (std::vector<std::string>{"ops", "admins"}));
  EXPECT_NE(c->raw_json.find("\"custom\""), std::string::npos);
}

TEST(ValidateClaims, AudienceMayBeAnArray) {
  auto c = ValidateClaims(R"({"iss":"https://idp.example.com","aud":["other","opsgate"],)"
                          R"("sub":"u","exp":1700000600})",
                          Opts(), kNow);
  EXPECT_EQ(ReasonOf(c), "ok");
}

TEST(ValidateClaims, RefusesWrongIssuerAndAudience) {
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://evil","aud":"opsgate","sub":"u","exp":1700000600})", Opts(), kNow)),
            "wrong_issuer");
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://idp.example.com","aud":["x"],"sub":"u","exp":1700000600})",
                Opts(), kNow)),
            "wrong_audience");
  EXPECT_EQ(ReasonOf(ValidateClaims(R"({"iss":"https://idp.example.com","sub":"u","exp":1700000600})",
                                    Opts(), kNow)),
            "missing_claim");
  EXPECT_EQ(ReasonOf(ValidateClaims(R"({"aud":"opsgate","sub":"u","exp":1700000600})", Opts(), kNow)),
            "missing_claim");
}

TEST(ValidateClaims, ExpiryHonoursSkew) {
  const std::string c = R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u","exp":)" +
                        std::to_string(kNow) + "}";
  EXPECT_EQ(ReasonOf(ValidateClaims(c, Opts(), kNow + 59)), "ok");
  EXPECT_EQ(ReasonOf(ValidateClaims(c, Opts(), kNow + 60)), "expired");
  auto strict = Opts();
  strict.clock_skew = std::chrono::seconds(0);
  EXPECT_EQ(ReasonOf(ValidateClaims(c, strict, kNow)), "expired");
  auto huge = Opts();
  huge.clock_skew = std::chrono::hours(24);  // clamped to 300 s
  EXPECT_EQ(ReasonOf(ValidateClaims(c, huge, kNow + 299)), "ok");
  EXPECT_EQ(ReasonOf(ValidateClaims(c, huge, kNow + 300)), "expired");
}

TEST(ValidateClaims, RefusesMissingExpAndStringDates) {
  EXPECT_EQ(ReasonOf(ValidateClaims(R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u"})",
                                    Opts(), kNow)),
            "missing_claim");
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u","exp":"1700000600"})",
                Opts(), kNow)),
            "bad_claim_type");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("nbf":"1")"), Opts(), kNow)), "bad_claim_type");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("auth_time":true)"), Opts(), kNow)),
            "bad_claim_type");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("amr":"pwd")"), Opts(), kNow)), "bad_claim_type");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("email":5)"), Opts(), kNow)), "bad_claim_type");
}

TEST(ValidateClaims, AcceptsFractionalNumericDates) {
  auto c = ValidateClaims(R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u",)"
                          R"("exp":1700000600.75})",
                          Opts(), kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->exp, 1700000600);
}

TEST(ValidateClaims, RefusesNotYetValidAndFutureIat) {
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("nbf":1700000061)"), Opts(), kNow)), "not_yet_valid");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("nbf":1700000060)"), Opts(), kNow)), "ok");
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u","exp":1700000600,)"
                R"("iat":1700000061})",
                Opts(), kNow)),
            "issued_in_future");
  auto need_iat = Opts();
  need_iat.require_issued_at = true;
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://idp.example.com","aud":"opsgate","sub":"u","exp":1700000600})",
                need_iat, kNow)),
            "missing_claim");
}

TEST(ValidateClaims, NonceMustMatchWhenExpected) {
  auto o = Opts();
  o.nonce = "abc";
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("nonce":"abd")"), o, kNow)), "nonce_mismatch");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(), o, kNow)), "nonce_mismatch");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("nonce":"abc")"), o, kNow)), "ok");
}

TEST(ValidateClaims, RefusesMissingSubjectAndDuplicateClaims) {
  EXPECT_EQ(ReasonOf(ValidateClaims(
                R"({"iss":"https://idp.example.com","aud":"opsgate","exp":1700000600})", Opts(), kNow)),
            "missing_claim");
  EXPECT_EQ(ReasonOf(ValidateClaims(Claims(R"("sub":"admin")"), Opts(), kNow)), "malformed");
  EXPECT_EQ(ReasonOf(ValidateClaims("[]", Opts(), kNow)), "malformed");
}

TEST(JwtVerifier, VerifiesSignedTokenAgainstInjectedClock) {
  const TestSigner signer = TestSigner::Generate(TestSigner::Kind::kEs256, "k1");
  auto keys = JwkSet::Parse(signer.Jwks("ES256"));
  ASSERT_TRUE(keys.has_value());
  opsgate::testing::FakeClock clock(kNow);
  JwtVerifier verifier(Opts(), clock);
  const std::string token = signer.Sign(R"({"alg":"ES256","kid":"k1","typ":"JWT"})", Claims());
  auto c = verifier.Verify(token, *keys);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->key_kid, "k1");
  EXPECT_EQ(c->alg, JwsAlg::kEs256);
  clock.Advance(std::chrono::seconds(600 + 60));
  EXPECT_EQ(ReasonOf(verifier.Verify(token, *keys)), "expired");
}

TEST(JwtVerifier, SignatureIsCheckedBeforeClaims) {
  const TestSigner signer = TestSigner::Generate(TestSigner::Kind::kEs256, "k1");
  const TestSigner attacker = TestSigner::Generate(TestSigner::Kind::kEs256, "k1");
  auto keys = JwkSet::Parse(signer.Jwks());
  opsgate::testing::FakeClock clock(kNow);
  JwtVerifier verifier(Opts(), clock);
  StaticKeySource source(*keys);
  EXPECT_EQ(ReasonOf(verifier.Verify(attacker.Sign(R"({"alg":"ES256","kid":"k1"})", Claims()),
                                     source)),
            "bad_signature");
}

}  // namespace
}  // namespace opsgate::identity
