#include "opsgate/aws/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>

namespace opsgate::aws {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "FQoGZXIvYXdzEXAMPLETOKENvalue/with+reserved=chars";
constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

core::Clock::WallTime T0() {
  using namespace std::chrono;
  return sys_days{year{2015} / August / 30} + hours{12} + minutes{36};
}

Credentials Creds(bool with_token = false) {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = core::Secret(std::string(kSecret));
  if (with_token) {
    c.session_token = core::Secret(std::string(kToken));
  }
  return c;
}

HttpRequestToSign Get() {
  HttpRequestToSign r;
  r.method = "GET";
  r.host = "example.amazonaws.com";
  r.path = "/";
  return r;
}

std::string Find(const HeaderList& h, std::string_view name) {
  for (const auto& [n, v] : h) {
    if (n == name) {
      return v;
    }
  }
  return "<absent>";
}

TEST(SigV4, VanillaGetMatchesTheSuite) {
  auto s = SignRequest(Get(), Creds(), "us-east-1", "service", T0());
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(Find(s->add, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(Find(s->add, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s->signed_header_names, "host;x-amz-date");
}

TEST(SigV4, FormatAmzDate) { EXPECT_EQ(FormatAmzDate(T0()), "20150830T123600Z"); }

TEST(SigV4, SessionTokenHeaderIsAddedAndSigned) {
  auto s = SignRequest(Get(), Creds(true), "us-east-1", "service", T0());
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(Find(s->add, "X-Amz-Security-Token"), kToken);
  EXPECT_EQ(s->signed_header_names, "host;x-amz-date;x-amz-security-token");
  EXPECT_THAT(Find(s->add, "Authorization"),
              HasSubstr("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
  // Signing with a different token gives a different signature: the token is covered.
  Credentials other = Creds(true);
  other.session_token = core::Secret("another-token");
  auto s2 = SignRequest(Get(), other, "us-east-1", "service", T0());
  ASSERT_TRUE(s2.has_value());
  EXPECT_NE(Find(s->add, "Authorization"), Find(s2->add, "Authorization"));
}

TEST(SigV4, OmitSessionTokenAddsItUnsigned) {
  SignOptions o;
  o.omit_session_token = true;
  auto s = SignRequest(Get(), Creds(true), "us-east-1", "service", T0(), o);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(Find(s->add, "X-Amz-Security-Token"), kToken);
  EXPECT_EQ(s->signed_header_names, "host;x-amz-date");
  // Same signature as without a token at all.
  auto plain = SignRequest(Get(), Creds(false), "us-east-1", "service", T0());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(Find(s->add, "Authorization"), Find(plain->add, "Authorization"));
}

TEST(SigV4, PresignCarriesTheTokenEncoded) {
  auto p = PresignUrl(Get(), Creds(true), "us-east-1", "service", T0(), std::chrono::seconds(60));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_THAT(
      p->target,
      HasSubstr("&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKENvalue%2Fwith%2Breserved%3Dchars"
                "&X-Amz-Signature="));
  EXPECT_THAT(p->target, HasSubstr("&X-Amz-Expires=60&"));
  EXPECT_EQ(p->url.rfind("https://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 0),
            0u);
}

TEST(SigV4, ErrorsNeverContainSecrets) {
  const std::string signing_key_hex = [] {
    std::string out;
    const core::Secret k =
        DeriveSigningKey(core::Secret(std::string(kSecret)), "20150830", "us-east-1", "service");
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : k.Reveal()) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    return out;
  }();
  auto expect_clean = [&](const core::Error& e) {
    EXPECT_THAT(e.message, Not(HasSubstr(kSecret)));
    EXPECT_THAT(e.message, Not(HasSubstr(kToken)));
    EXPECT_THAT(e.message, Not(HasSubstr(signing_key_hex)));
  };
  Credentials expired = Creds(true);
  expired.expires_at = T0() - std::chrono::seconds(1);
  auto e1 = SignRequest(Get(), expired, "us-east-1", "service", T0());
  ASSERT_FALSE(e1.has_value());
  EXPECT_EQ(e1.error().code, core::ErrorCode::kFailedPrecondition);
  expect_clean(e1.error());

  HttpRequestToSign wrong_token = Get();
  wrong_token.headers.emplace_back("X-Amz-Security-Token", "not-the-token");
  auto e2 = SignRequest(wrong_token, Creds(true), "us-east-1", "service", T0());
  ASSERT_FALSE(e2.has_value());
  EXPECT_EQ(e2.error().code, core::ErrorCode::kInvalidArgument);
  expect_clean(e2.error());
  EXPECT_THAT(e2.error().message, Not(HasSubstr("not-the-token")));

  auto e3 = SignRequest(Get(), Creds(true), "US East 1", "service", T0());
  ASSERT_FALSE(e3.has_value());
  expect_clean(e3.error());

  Credentials bad_token = Creds();
  bad_token.session_token = core::Secret(std::string(kToken) + "\r\nX-Evil: 1");
  auto e4 = SignRequest(Get(), bad_token, "us-east-1", "service", T0());
  ASSERT_FALSE(e4.has_value());
  expect_clean(e4.error());

  auto e5 =
      PresignUrl(Get(), Creds(true), "us-east-1", "service", T0(), std::chrono::seconds(604801));
  ASSERT_FALSE(e5.has_value());
  expect_clean(e5.error());

  // Credentials print redacted.
  std::ostringstream os;
  os << Creds(true).secret_access_key << " " << *Creds(true).session_token;
  EXPECT_EQ(os.str(), "[redacted] [redacted]");
}

TEST(SigV4, HeaderValuesAreTrimmedAndFolded) {
  HttpRequestToSign r = Get();
  r.headers = {{"Host", "example.amazonaws.com"},
               {"My-Header2", "  \"a   b \t  c\"  "},
               {"My-Header1", "value1\r\n   value2\n\tvalue3"},
               {"my-header1", "again"}};
  auto creq = CanonicalRequest(r, kEmptyHash);
  ASSERT_TRUE(creq.has_value()) << creq.error().message;
  EXPECT_EQ(*creq,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3,again\n"
            "my-header2:\"a b c\"\n\nhost;my-header1;my-header2\n" +
                std::string(kEmptyHash));
}

TEST(SigV4, HeaderInjectionIsRefused) {
  HttpRequestToSign r = Get();
  r.headers = {{"X-A", "v\r\nX-Evil: 1"}};
  auto s = SignRequest(r, Creds(), "us-east-1", "service", T0());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument);
  r.headers = {{"Bad Name", "v"}};
  EXPECT_FALSE(SignRequest(r, Creds(), "us-east-1", "service", T0()).has_value());
}

TEST(SigV4, QueryEncodingOfReservedCharacters) {
  HttpRequestToSign r = Get();
  r.query = "b=c%2Fd&a=x y&a=%7e!*'()&z&Sp+ace=%zz&=empty&&";
  auto creq = CanonicalRequest(r, kEmptyHash);
  ASSERT_TRUE(creq.has_value());
  const std::string query_line = creq->substr(6, creq->find('\n', 6) - 6);
  // Decoded then re-encoded: unreserved kept ('~' decoded from %7e), everything else %XX
  // upper-case, '+' is a literal plus, a broken escape is a literal '%', a missing '='
  // means an empty value; sorted by key, then value.
  EXPECT_EQ(query_line, "=empty&Sp%2Bace=%25zz&a=x%20y&a=~%21%2A%27%28%29&b=c%2Fd&z=");
}

TEST(SigV4, PathEncodingAndNormalisation) {
  HttpRequestToSign r = Get();
  r.path = "/a/./b/../c//d%20e/$f";
  auto creq = CanonicalRequest(r, kEmptyHash);
  ASSERT_TRUE(creq.has_value());
  EXPECT_EQ(creq->substr(0, creq->find('\n', 4)), "GET\n/a/c/d%2520e/%24f");
  SignOptions s3;
  s3.double_uri_encode = false;
  s3.normalize_path = false;
  creq = CanonicalRequest(r, kEmptyHash, s3);
  ASSERT_TRUE(creq.has_value());
  EXPECT_EQ(creq->substr(0, creq->find('\n', 4)), "GET\n/a/./b/../c//d%20e/%24f");
}

TEST(SigV4, UnsignedPayloadOption) {
  HttpRequestToSign r = Get();
  r.method = "PUT";
  r.body = "large object body";
  SignOptions o;
  o.unsigned_payload = true;
  o.sign_body = true;
  auto s = SignRequest(r, Creds(), "us-east-1", "s3", T0(), o);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(Find(s->add, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(s->signed_header_names, "host;x-amz-content-sha256;x-amz-date");
  HttpRequestToSign signed_input = r;
  signed_input.headers = {{"X-Amz-Date", "20150830T123600Z"},
                          {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}};
  auto creq = CanonicalRequest(signed_input, kUnsignedPayload, o);
  ASSERT_TRUE(creq.has_value());
  EXPECT_TRUE(creq->ends_with("\nUNSIGNED-PAYLOAD"));
  const core::Secret key =
      DeriveSigningKey(Creds().secret_access_key, "20150830", "us-east-1", "s3");
  const std::string sig =
      ComputeSignature(key, StringToSign("20150830T123600Z", s->credential_scope, *creq));
  EXPECT_THAT(Find(s->add, "Authorization"), HasSubstr("Signature=" + sig));
  // A different body does not change the signature.
  r.body = "something else";
  auto s2 = SignRequest(r, Creds(), "us-east-1", "s3", T0(), o);
  ASSERT_TRUE(s2.has_value());
  EXPECT_EQ(Find(s->add, "Authorization"), Find(s2->add, "Authorization"));
}

TEST(SigV4, SignBodyAddsContentSha256) {
  HttpRequestToSign r = Get();
  r.method = "POST";
  r.body = "Param1=value1";
  SignOptions o;
  o.sign_body = true;
  auto s = SignRequest(r, Creds(), "us-east-1", "service", T0(), o);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(Find(s->add, "x-amz-content-sha256"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(SigV4, RefusesConflictingOrMissingInputs) {
  HttpRequestToSign r = Get();
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 ...");
  EXPECT_FALSE(SignRequest(r, Creds(), "us-east-1", "service", T0()).has_value());
  r = Get();
  r.headers.emplace_back("X-Amz-Date", "20200101T000000Z");
  EXPECT_FALSE(SignRequest(r, Creds(), "us-east-1", "service", T0()).has_value());
  r = Get();
  r.host.clear();
  EXPECT_FALSE(SignRequest(r, Creds(), "us-east-1", "service", T0()).has_value());
  r = Get();
  r.query = "X-Amz-Signature=abc";
  EXPECT_FALSE(
      PresignUrl(r, Creds(), "us-east-1", "service", T0(), std::chrono::seconds(60)).has_value());
  Credentials c = Creds();
  c.access_key_id = "AKID/../x";
  EXPECT_FALSE(SignRequest(Get(), c, "us-east-1", "service", T0()).has_value());
}

TEST(ScrubSecretsTest, ReplacesEverySecretAndStopsEvenWhenOneOccursInTheMarker) {
  EXPECT_EQ(ScrubSecrets("key AKSECRET1 and AKSECRET1 again", {"AKSECRET1"}),
            "key [redacted] and [redacted] again");
  // "dact" is inside "[redacted]": the search continues after each replacement.
  EXPECT_EQ(ScrubSecrets("key dact here", {"dact"}), "key [redacted] here");
  // Too short to scrub safely; empty secrets are ignored.
  EXPECT_EQ(ScrubSecrets("abc", {"abc", ""}), "abc");
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = core::Secret(std::string("s3cr3tkey"));
  c.session_token = core::Secret(std::string("tok3n-value"));
  EXPECT_EQ(ScrubCredentials("s3cr3tkey / tok3n-value / AKIDEXAMPLE", c),
            "[redacted] / [redacted] / AKIDEXAMPLE");
}

}  // namespace
}  // namespace opsgate::aws
