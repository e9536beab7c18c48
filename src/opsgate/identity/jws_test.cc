#include "opsgate/identity/jws.h"

#include <gtest/gtest.h>

#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/testing/test_signer.h"

namespace opsgate::identity {
namespace {

using testing::B64;
using testing::TestSigner;

const TestSigner& Ec() {
  static const TestSigner s = TestSigner::Generate(TestSigner::Kind::kEs256, "ec-1");
  return s;
}
const TestSigner& Rsa() {
  static const TestSigner s = TestSigner::Generate(TestSigner::Kind::kRs256, "rsa-1");
  return s;
}
const TestSigner& Ed() {
  static const TestSigner s = TestSigner::Generate(TestSigner::Kind::kEdDsa, "ed-1");
  return s;
}

JwkSet Keys(std::initializer_list<std::string> jwks) {
  std::vector<Jwk> keys;
  for (const std::string& j : jwks) {
    auto k = Jwk::Parse(j);
    EXPECT_TRUE(k.has_value()) << (k ? "" : k.error().message);
    if (k) {
      keys.push_back(*k);
    }
  }
  return JwkSet(std::move(keys));
}

std::string_view Reason(const core::Result<VerifiedJws>& r) {
  return r ? std::string_view("accepted") : JoseReasonOf(r.error());
}

TEST(VerifyCompactJws, AcceptsEs256Rs256AndEdDsa) {
  const JwkSet keys = Keys({Ec().PublicJwk(), Rsa().PublicJwk(), Ed().PublicJwk()});
  auto es = VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","kid":"ec-1"})", "hi"), keys, {});
  ASSERT_TRUE(es.has_value()) << es.error().message;
  EXPECT_EQ(es->payload, "hi");
  EXPECT_EQ(es->key_kid, "ec-1");
  auto rs = VerifyCompactJws(Rsa().Sign(R"({"alg":"RS256","kid":"rsa-1"})", "x"), keys, {});
  EXPECT_TRUE(rs.has_value());
  auto ed = VerifyCompactJws(Ed().Sign(R"({"alg":"EdDSA"})", "y"), keys, {});
  EXPECT_TRUE(ed.has_value()) << "no kid: keys whose type fits the alg are tried";
}

TEST(VerifyCompactJws, RefusesNoneInAnyCase) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  for (std::string alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string t = B64(R"({"alg":")" + alg + "\"}") + "." + B64("{}") + ".";
    EXPECT_EQ(Reason(VerifyCompactJws(t, keys, {})), "alg_not_allowed") << alg;
    const std::string t2 = B64(R"({"alg":")" + alg + "\"}") + "." + B64("{}") + ".c2ln";
    EXPECT_EQ(Reason(VerifyCompactJws(t2, keys, {})), "alg_not_allowed") << alg;
  }
}

TEST(VerifyCompactJws, RefusesHmacKeyConfusion) {
  // HS256 "keyed" with the public key bytes: refused before any key is consulted.
  const JwkSet keys = Keys({Rsa().PublicJwk()});
  const std::string t = B64(R"({"alg":"HS256","kid":"rsa-1"})") + "." + B64("{}") + "." +
                        B64(std::string(32, 'k'));
  EXPECT_EQ(Reason(VerifyCompactJws(t, keys, {})), "alg_not_allowed");
}

TEST(VerifyCompactJws, RefusesHeadersThatBringTheirOwnKeys) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  EXPECT_EQ(Reason(VerifyCompactJws(
                Ec().Sign(R"({"alg":"ES256","jwk":)" + Ec().PublicJwk() + "}", "p"), keys, {})),
            "embedded_jwk");
  for (std::string member : {"jku", "x5u"}) {
    EXPECT_EQ(Reason(VerifyCompactJws(
                  Ec().Sign(R"({"alg":"ES256",")" + member + R"(":"https://evil/k"})", "p"),
                  keys, {})),
              "key_reference_refused")
        << member;
  }
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","x5c":["MIIB"]})", "p"), keys, {})),
            "key_reference_refused");
}

TEST(VerifyCompactJws, RefusesCritAndB64) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","crit":["exp"],"exp":1})", "p"),
                                    keys, {})),
            "crit_unsupported");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","b64":true})", "p"), keys, {})),
            "crit_unsupported");
}

TEST(VerifyCompactJws, RefusesDuplicateHeaderMembers) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","alg":"ES256"})", "p"), keys, {})),
            "malformed");
  // Same name spelled with an escape is still a duplicate.
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","\u0061lg":"ES256"})", "p"),
                                    keys, {})),
            "malformed");
  // Nested objects may reuse names.
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","x":{"alg":1}})", "p"), keys, {})),
            "accepted");
}

TEST(VerifyCompactJws, RefusesMalformedStructure) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  const std::string good = Ec().Sign(R"({"alg":"ES256"})", "p");
  EXPECT_EQ(Reason(VerifyCompactJws(good + ".x", keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(good.substr(0, good.rfind('.')), keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws("", keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(good + "=", keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(" " + good, keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"(["alg","ES256"])", "p"), keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":256})", "p"), keys, {})), "malformed");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","kid":7})", "p"), keys, {})),
            "malformed");
}

TEST(VerifyCompactJws, EnforcesSizeLimits) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  JwsVerifyOptions opt;
  opt.max_token_bytes = 100;
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256"})", std::string(200, 'a')), keys,
                                    opt)),
            "too_large");
  const std::string big_header = R"({"alg":"ES256","pad":")" + std::string(9000, 'a') + "\"}";
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(big_header, "p"), keys, {})), "too_large");
}

TEST(VerifyCompactJws, SelectsKeyByKid) {
  const TestSigner other = TestSigner::Generate(TestSigner::Kind::kEs256, "ec-2");
  const JwkSet keys = Keys({Ec().PublicJwk(), other.PublicJwk()});
  EXPECT_EQ(Reason(VerifyCompactJws(other.Sign(R"({"alg":"ES256","kid":"ec-2"})", "p"), keys, {})),
            "accepted");
  // Signed by ec-2 but claiming ec-1: only ec-1 is tried.
  EXPECT_EQ(Reason(VerifyCompactJws(other.Sign(R"({"alg":"ES256","kid":"ec-1"})", "p"), keys, {})),
            "bad_signature");
  EXPECT_EQ(Reason(VerifyCompactJws(other.Sign(R"({"alg":"ES256","kid":"../../dev/null"})", "p"),
                                    keys, {})),
            "unknown_kid");
  // No kid: every EC P-256 key is tried.
  EXPECT_EQ(Reason(VerifyCompactJws(other.Sign(R"({"alg":"ES256"})", "p"), keys, {})), "accepted");
  // No kid and no key of the right type.
  EXPECT_EQ(Reason(VerifyCompactJws(Rsa().Sign(R"({"alg":"RS256"})", "p"), keys, {})),
            "no_usable_key");
}

TEST(VerifyCompactJws, KeyAlgMemberBindsTheKey) {
  const JwkSet keys = Keys({Rsa().PublicJwk("PS256")});
  EXPECT_EQ(Reason(VerifyCompactJws(Rsa().Sign(R"({"alg":"RS256","kid":"rsa-1"})", "p"), keys, {})),
            "alg_mismatch");
  const JwkSet ec = Keys({Ec().PublicJwk()});
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES384","kid":"ec-1"})", "p"), ec, {})),
            "alg_mismatch");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"RS256","kid":"ec-1"})", "p"), ec, {})),
            "alg_mismatch");
}

TEST(VerifyCompactJws, Es256RequiresP1363NotDer) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  const std::string input = B64(R"({"alg":"ES256"})") + "." + B64("p");
  const std::string der = input + "." + B64(Ec().RawSign(input, /*der=*/true));
  EXPECT_EQ(Reason(VerifyCompactJws(der, keys, {})), "bad_signature");
  const std::string zeros = input + "." + B64(std::string(64, '\0'));
  EXPECT_EQ(Reason(VerifyCompactJws(zeros, keys, {})), "bad_signature");
  std::string sig = Ec().RawSign(input);
  EXPECT_EQ(Reason(VerifyCompactJws(input + "." + B64(sig + '\0'), keys, {})), "bad_signature");
  EXPECT_EQ(Reason(VerifyCompactJws(input + "." + B64(sig), keys, {})), "accepted");
}

TEST(VerifyCompactJws, AllowListNarrowsAlgorithms) {
  const JwkSet keys = Keys({Ec().PublicJwk(), Rsa().PublicJwk()});
  JwsVerifyOptions opt;
  opt.allowed_algs = {JwsAlg::kRs256};
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256"})", "p"), keys, opt)),
            "alg_not_allowed");
  EXPECT_EQ(Reason(VerifyCompactJws(Rsa().Sign(R"({"alg":"RS256"})", "p"), keys, opt)), "accepted");
}

TEST(VerifyCompactJws, ExpectedTypIsChecked) {
  const JwkSet keys = Keys({Ec().PublicJwk()});
  JwsVerifyOptions opt;
  opt.expected_typ = "at+jwt";
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","typ":"AT+JWT"})", "p"), keys, opt)),
            "accepted");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256","typ":"JWT"})", "p"), keys, opt)),
            "wrong_type");
  EXPECT_EQ(Reason(VerifyCompactJws(Ec().Sign(R"({"alg":"ES256"})", "p"), keys, opt)), "wrong_type");
}

TEST(PeekKid, ReturnsKidWithoutVerifying) {
  auto kid = PeekKid(Ec().Sign(R"({"alg":"ES256","kid":"abc"})", "p"), {});
  ASSERT_TRUE(kid.has_value());
  EXPECT_EQ(kid->value_or(""), "abc");
  auto none = PeekKid(Ec().Sign(R"({"alg":"ES256"})", "p"), {});
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace opsgate::identity
