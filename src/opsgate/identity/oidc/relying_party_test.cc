#include "opsgate/identity/oidc/relying_party.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "opsgate/crypto/hash.h"
#include "opsgate/http/client/fake_http_client.h"
#include "opsgate/identity/oidc/pending_login.h"
#include "opsgate/identity/testing/test_signer.h"
#include "opsgate/store/sqlite/sqlite_identity_store.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity::oidc {
namespace {

using http::testing::FakeHttpClient;
using identity::testing::B64;
using identity::testing::TestSigner;

constexpr const char* kIssuer = "https://idp.example.com";
constexpr const char* kClientId = "opsgate-client";
constexpr const char* kSecret = "client-secret-value";
constexpr const char* kRedirect = "https://opsgate.example.com/auth/callback";

// Value of query parameter `name` in `url` (raw, not decoded), or "".
std::string QueryParam(const std::string& url, const std::string& name) {
  const std::string key = name + "=";
  size_t at = url.find('?');
  while (at != std::string::npos) {
    ++at;
    if (url.compare(at, key.size(), key) == 0) {
      const size_t end = url.find('&', at);
      return url.substr(at + key.size(),
                        end == std::string::npos ? std::string::npos : end - at - key.size());
    }
    at = url.find('&', at);
  }
  return "";
}

class RelyingPartyTest : public ::testing::Test {
 protected:
  RelyingPartyTest() : signer_(TestSigner::Generate(TestSigner::Kind::kRs256, "k1")) {}

  void SetUp() override {
    http_.SetResponder([this](const http::OutboundRequest& r) -> FakeHttpClient::Outcome {
      if (r.url == std::string(kIssuer) + "/.well-known/openid-configuration") {
        return FakeHttpClient::Response(200, discovery_doc_);
      }
      if (r.url == std::string(kIssuer) + "/jwks") {
        return FakeHttpClient::Response(200, signer_.Jwks("RS256"));
      }
      if (r.url == std::string(kIssuer) + "/token") {
        token_requests_.push_back(r);
        if (token_response_) {
          return token_response_(r);
        }
        return FakeHttpClient::Response(
            200, R"({"access_token":"at","token_type":"Bearer","expires_in":300,"id_token":")" +
                     IdToken() + "\"}");
      }
      return FakeHttpClient::Response(404);
    });
    MakeRp();
  }

  void MakeRp() {
    DiscoveryOptions d;
    d.issuer = kIssuer;
    discovery_ = std::make_unique<Discovery>(d, http_, clock_);
    RelyingPartyOptions o;
    o.client_id = kClientId;
    o.client_secret = core::Secret(kSecret);
    o.client_auth = auth_;
    o.redirect_uri = kRedirect;
    o.extra_scopes = {"groups"};
    rp_ = std::make_unique<RelyingParty>(std::move(o), *discovery_, http_, clock_);
  }

  std::string Doc(std::string extra = "") {
    return std::string(R"({"issuer":")") + kIssuer +
           R"(","authorization_endpoint":"https://idp.example.com/authorize?tenant=1",)"
           R"("token_endpoint":"https://idp.example.com/token",)"
           R"("jwks_uri":"https://idp.example.com/jwks",)"
           R"("code_challenge_methods_supported":["S256"],)"
           R"("id_token_signing_alg_values_supported":["RS256"])" +
           extra + "}";
  }

  int64_t Now() const { return clock_.UnixSeconds(); }

  // Default claims as raw JSON member values; tests edit claims_ before CompleteLogin.
  void ResetClaims() {
    claims_ = {
        {"iss", std::string("\"") + kIssuer + "\""},
        {"sub", "\"user-1\""},
        {"aud", std::string("\"") + kClientId + "\""},
        {"exp", std::to_string(Now() + 300)},
        {"iat", std::to_string(Now())},
        {"auth_time", std::to_string(Now() - 10)},
        {"nonce", "\"" + nonce_ + "\""},
        {"email", "\"alice@example.com\""},
        {"email_verified", "true"},
        {"name", "\"Alice\""},
        {"groups", R"(["ops","sre"])"},
        {"amr", R"(["pwd","otp"])"},
        {"acr", "\"urn:loa:2\""},
    };
  }

  std::string ClaimsJson() const {
    std::string out = "{";
    for (const auto& [k, v] : claims_) {
      out += (out.size() > 1 ? ",\"" : "\"") + k + "\":" + v;
    }
    return out + "}";
  }

  std::string IdToken() const {
    return signer_.Sign(R"({"alg":"RS256","kid":"k1","typ":"JWT"})", ClaimsJson());
  }

  LoginStart Begin(LoginParams params = {}) {
    auto start = rp_->BeginLogin(params);
    EXPECT_TRUE(start.has_value()) << start.error();
    nonce_ = std::string(start->state.nonce.Reveal());
    ResetClaims();
    return std::move(*start);
  }

  CallbackParams Callback(const LoginStart& s) {
    CallbackParams cb;
    cb.code = "the-code";
    cb.state = std::string(s.state.state.Reveal());
    cb.iss = kIssuer;
    return cb;
  }

  // Runs CompleteLogin expecting a refusal with `reason`; returns the error.
  core::Error Refused(const LoginStart& s, const CallbackParams& cb, std::string_view reason) {
    auto r = rp_->CompleteLogin(s.state, cb);
    EXPECT_FALSE(r.has_value()) << "expected " << reason;
    if (r.has_value()) {
      return core::Internal("accepted");
    }
    EXPECT_EQ(OidcReasonOf(r.error()), reason) << r.error();
    EXPECT_EQ(r.error().message.find(kSecret), std::string::npos);
    EXPECT_EQ(r.error().message.find(s.state.code_verifier.Reveal()), std::string::npos);
    return r.error();
  }

  opsgate::testing::FakeClock clock_;
  FakeHttpClient http_;
  TestSigner signer_;
  std::string discovery_doc_ = Doc();
  ClientAuthMethod auth_ = ClientAuthMethod::kClientSecretBasic;
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<RelyingParty> rp_;
  std::string nonce_;
  std::map<std::string, std::string> claims_;
  std::vector<http::OutboundRequest> token_requests_;
  std::function<FakeHttpClient::Outcome(const http::OutboundRequest&)> token_response_;
};

TEST_F(RelyingPartyTest, AuthorizationUrlCarriesPkceStateNonceAndScopes) {
  LoginStart s = Begin();
  const std::string& url = s.authorization_url;
  EXPECT_EQ(url.rfind("https://idp.example.com/authorize?tenant=1&", 0), 0u) << url;
  EXPECT_EQ(QueryParam(url, "response_type"), "code");
  EXPECT_EQ(QueryParam(url, "client_id"), kClientId);
  EXPECT_EQ(QueryParam(url, "redirect_uri"),
            "https%3A%2F%2Fopsgate.example.com%2Fauth%2Fcallback");
  EXPECT_EQ(QueryParam(url, "scope"), "openid%20email%20profile%20groups");
  EXPECT_EQ(QueryParam(url, "state"), s.state.state.Reveal());
  EXPECT_EQ(QueryParam(url, "nonce"), s.state.nonce.Reveal());
  EXPECT_EQ(QueryParam(url, "code_challenge_method"), "S256");
  EXPECT_EQ(QueryParam(url, "code_challenge"),
            crypto::Base64UrlEncode(crypto::Sha256(s.state.code_verifier.Reveal())));
  EXPECT_EQ(QueryParam(url, "prompt"), "");
  EXPECT_EQ(QueryParam(url, "max_age"), "");
  EXPECT_EQ(s.state.code_verifier.size(), 43u);  // RFC 7636: 43..128
  EXPECT_EQ(s.state.issuer, kIssuer);
  EXPECT_EQ(s.state.expires_at - s.state.created_at, std::chrono::seconds(600));
}

TEST_F(RelyingPartyTest, EveryLoginGetsFreshSecrets) {
  LoginStart a = Begin();
  LoginStart b = Begin();
  EXPECT_NE(a.state.state.Reveal(), b.state.state.Reveal());
  EXPECT_NE(a.state.nonce.Reveal(), b.state.nonce.Reveal());
  EXPECT_NE(a.state.code_verifier.Reveal(), b.state.code_verifier.Reveal());
}

TEST_F(RelyingPartyTest, StepUpParametersAreSent) {
  LoginParams p;
  p.prompt = "login";
  p.max_age = std::chrono::seconds(0);
  p.acr_values = {"urn:loa:2", "urn:loa:3"};
  p.login_hint = "alice@example.com";
  LoginStart s = Begin(p);
  EXPECT_EQ(QueryParam(s.authorization_url, "prompt"), "login");
  EXPECT_EQ(QueryParam(s.authorization_url, "max_age"), "0");
  EXPECT_EQ(QueryParam(s.authorization_url, "acr_values"), "urn%3Aloa%3A2%20urn%3Aloa%3A3");
  EXPECT_EQ(QueryParam(s.authorization_url, "login_hint"), "alice%40example.com");
  EXPECT_EQ(s.state.max_age, std::chrono::seconds(0));
  EXPECT_EQ(s.state.acr_values, p.acr_values);
}

TEST_F(RelyingPartyTest, BadLoginParamsAreRefused) {
  LoginParams p;
  p.prompt = "login bogus";
  auto r = rp_->BeginLogin(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  LoginParams q;
  q.acr_values = {"has space"};
  EXPECT_FALSE(rp_->BeginLogin(q).has_value());
  LoginParams c;
  c.context = std::string(5000, 'x');
  EXPECT_FALSE(rp_->BeginLogin(c).has_value());
}

TEST_F(RelyingPartyTest, DiscoveryFailureIsReported) {
  discovery_doc_ = Doc();
  discovery_doc_.replace(discovery_doc_.find("[\"S256\"]"), 8, "[\"plain\"]");
  auto r = rp_->BeginLogin({});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(OidcReasonOf(r.error()), "discovery_failed");
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("S256"), std::string::npos);
}

TEST_F(RelyingPartyTest, CompletesAndReturnsTheIdentity) {
  LoginParams p;
  p.context = "slack/T1/U1";
  LoginStart s = Begin(p);
  auto who = rp_->CompleteLogin(s.state, Callback(s));
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_EQ(who->issuer, kIssuer);
  EXPECT_EQ(who->subject, "user-1");
  EXPECT_EQ(who->email, "alice@example.com");
  EXPECT_TRUE(who->email_verified);
  EXPECT_EQ(who->name, "Alice");
  EXPECT_EQ(who->groups, (std::vector<std::string>{"ops", "sre"}));
  EXPECT_EQ(who->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(who->acr, "urn:loa:2");
  EXPECT_EQ(who->auth_time, Now() - 10);
  EXPECT_EQ(who->context, "slack/T1/U1");

  ASSERT_EQ(token_requests_.size(), 1u);
  const http::OutboundRequest& t = token_requests_[0];
  EXPECT_EQ(t.method, "POST");
  EXPECT_NE(t.body.find("grant_type=authorization_code"), std::string::npos);
  EXPECT_NE(t.body.find("code=the-code"), std::string::npos);
  EXPECT_NE(t.body.find("code_verifier=" + std::string(s.state.code_verifier.Reveal())),
            std::string::npos);
  EXPECT_NE(t.body.find("redirect_uri=https%3A%2F%2Fopsgate.example.com%2Fauth%2Fcallback"),
            std::string::npos);
  EXPECT_EQ(t.body.find("client_secret"), std::string::npos);
  bool basic = false;
  for (const auto& [name, value] : t.headers) {
    if (name == "Authorization") {
      basic = value == "Basic " + crypto::Base64Encode(std::string(kClientId) + ":" + kSecret);
    }
  }
  EXPECT_TRUE(basic);
}

TEST_F(RelyingPartyTest, ClientSecretPostSendsCredentialsInTheBody) {
  auth_ = ClientAuthMethod::kClientSecretPost;
  MakeRp();
  LoginStart s = Begin();
  ASSERT_TRUE(rp_->CompleteLogin(s.state, Callback(s)).has_value());
  const http::OutboundRequest& t = token_requests_.at(0);
  EXPECT_NE(t.body.find("client_id=opsgate-client"), std::string::npos);
  EXPECT_NE(t.body.find(std::string("client_secret=") + kSecret), std::string::npos);
  for (const auto& h : t.headers) {
    EXPECT_NE(h.first, "Authorization");
  }
}

TEST_F(RelyingPartyTest, PublicClientSendsOnlyClientId) {
  auth_ = ClientAuthMethod::kNone;
  MakeRp();
  LoginStart s = Begin();
  ASSERT_TRUE(rp_->CompleteLogin(s.state, Callback(s)).has_value());
  EXPECT_NE(token_requests_.at(0).body.find("client_id=opsgate-client"), std::string::npos);
  EXPECT_EQ(token_requests_.at(0).body.find("client_secret"), std::string::npos);
}

TEST_F(RelyingPartyTest, StateMismatchIsRefused) {
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.state->back() = cb.state->back() == 'A' ? 'B' : 'A';
  Refused(s, cb, "state_mismatch");
  cb.state.reset();
  Refused(s, cb, "state_mismatch");
  EXPECT_TRUE(token_requests_.empty());
}

TEST_F(RelyingPartyTest, ReplayedStateIsGoneFromTheStore) {
  auto db = store::SqliteStore::Open(":memory:");
  ASSERT_TRUE(db.has_value()) << db.error();
  store::SqliteIdentityStore ids(**db);
  LoginStart s = Begin();
  ASSERT_TRUE(ids.PutLoginState(ToPendingLogin(s.state)).has_value());
  const CallbackParams cb = Callback(s);
  auto first = ids.TakeLoginState(StateHash(*cb.state), clock_.Now());
  ASSERT_TRUE(first.has_value() && first->has_value());
  ASSERT_TRUE(rp_->CompleteLogin(FromPendingLogin(**first), cb).has_value());
  auto replay = ids.TakeLoginState(StateHash(*cb.state), clock_.Now());
  ASSERT_TRUE(replay.has_value());
  EXPECT_FALSE(replay->has_value()) << "the callback must not be usable twice";
}

TEST_F(RelyingPartyTest, ExpiredLoginIsRefused) {
  LoginStart s = Begin();
  clock_.Advance(std::chrono::seconds(600));
  Refused(s, Callback(s), "login_expired");
  EXPECT_TRUE(token_requests_.empty());
}

TEST_F(RelyingPartyTest, AccessDeniedCallback) {
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.code.reset();
  cb.error = "access_denied";
  cb.error_description = "End-User aborted\ninteraction";
  core::Error e = Refused(s, cb, "access_denied");
  EXPECT_EQ(e.code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(e.message.find("End-User aborted?interaction"), std::string::npos) << e;
}

TEST_F(RelyingPartyTest, OtherErrorCallbackIsProviderError) {
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.code.reset();
  cb.error = "login_required";
  core::Error e = Refused(s, cb, "provider_error");
  EXPECT_EQ(e.code, core::ErrorCode::kUnauthenticated);
  EXPECT_NE(e.message.find("login_required"), std::string::npos);
}

TEST_F(RelyingPartyTest, MissingCodeIsRefused) {
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.code.reset();
  Refused(s, cb, "missing_code");
}

TEST_F(RelyingPartyTest, CallbackIssuerMustMatch) {
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.iss = "https://evil.example.com";
  Refused(s, cb, "issuer_mismatch");
}

TEST_F(RelyingPartyTest, CallbackIssuerRequiredWhenAdvertised) {
  discovery_doc_ = Doc(R"(,"authorization_response_iss_parameter_supported":true)");
  MakeRp();
  LoginStart s = Begin();
  CallbackParams cb = Callback(s);
  cb.iss.reset();
  Refused(s, cb, "issuer_mismatch");
  cb.iss = kIssuer;
  EXPECT_TRUE(rp_->CompleteLogin(s.state, cb).has_value());
}

TEST_F(RelyingPartyTest, PendingLoginForAnotherIssuerIsRefused) {
  LoginStart s = Begin();
  s.state.issuer = "https://other.example.com";
  Refused(s, Callback(s), "issuer_mismatch");
}

TEST_F(RelyingPartyTest, TokenEndpoint400IsReportedPrecisely) {
  token_response_ = [](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return FakeHttpClient::Response(
        400, R"({"error":"invalid_grant","error_description":"grant request is invalid"})");
  };
  LoginStart s = Begin();
  core::Error e = Refused(s, Callback(s), "token_rejected");
  EXPECT_EQ(e.code, core::ErrorCode::kUnauthenticated);
  EXPECT_NE(e.message.find("invalid_grant: grant request is invalid (HTTP 400)"),
            std::string::npos)
      << e;
}

TEST_F(RelyingPartyTest, TokenEndpoint5xxAndTransportErrorsAreUnavailable) {
  token_response_ = [](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return FakeHttpClient::Response(503, "busy");
  };
  LoginStart s = Begin();
  EXPECT_EQ(Refused(s, Callback(s), "token_endpoint_unavailable").code,
            core::ErrorCode::kUnavailable);
  token_response_ = [](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return core::Fail(core::Unavailable("connection refused"));
  };
  EXPECT_EQ(Refused(s, Callback(s), "token_endpoint_unavailable").code,
            core::ErrorCode::kUnavailable);
}

TEST_F(RelyingPartyTest, TokenResponseWithoutIdTokenOrWithOtherTypeIsRefused) {
  token_response_ = [](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return FakeHttpClient::Response(200, R"({"access_token":"at","token_type":"Bearer"})");
  };
  LoginStart s = Begin();
  Refused(s, Callback(s), "bad_token_response");
  token_response_ = [this](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return FakeHttpClient::Response(
        200, R"({"access_token":"at","token_type":"mac","id_token":")" + IdToken() + "\"}");
  };
  Refused(s, Callback(s), "bad_token_response");
  token_response_ = [](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    return FakeHttpClient::Response(200, "<html>");
  };
  Refused(s, Callback(s), "bad_token_response");
}

TEST_F(RelyingPartyTest, IdTokenWithWrongNonceIsRefused) {
  LoginStart s = Begin();
  claims_["nonce"] = "\"another-nonce\"";
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("nonce_mismatch"),
            std::string::npos);
  claims_.erase("nonce");
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("nonce"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, IdTokenWithWrongAudienceIsRefused) {
  LoginStart s = Begin();
  claims_["aud"] = "\"someone-else\"";
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("wrong_audience"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, IdTokenWithWrongIssuerIsRefused) {
  LoginStart s = Begin();
  claims_["iss"] = "\"https://evil.example.com\"";
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("wrong_issuer"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, ExpiredIdTokenIsRefused) {
  LoginStart s = Begin();
  claims_["exp"] = std::to_string(Now() - 120);
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("expired"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, IdTokenWithoutIatIsRefused) {
  LoginStart s = Begin();
  claims_.erase("iat");
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("missing_claim"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, UnsignedIdTokenIsRefused) {
  LoginStart s = Begin();
  token_response_ = [this](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    const std::string none = B64(R"({"alg":"none"})") + "." + B64(ClaimsJson()) + ".";
    return FakeHttpClient::Response(
        200, R"({"access_token":"at","token_type":"Bearer","id_token":")" + none + "\"}");
  };
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("alg_not_allowed"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, IdTokenSignedByAnotherKeyIsRefused) {
  LoginStart s = Begin();
  const TestSigner other = TestSigner::Generate(TestSigner::Kind::kRs256, "k1");
  token_response_ = [&, this](const http::OutboundRequest&) -> FakeHttpClient::Outcome {
    const std::string forged = other.Sign(R"({"alg":"RS256","kid":"k1"})", ClaimsJson());
    return FakeHttpClient::Response(
        200, R"({"access_token":"at","token_type":"Bearer","id_token":")" + forged + "\"}");
  };
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("bad_signature"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, AlgorithmOutsideDiscoveryIsRefused) {
  // The provider advertises only ES256; an RS256 token is not accepted.
  discovery_doc_ = Doc();
  discovery_doc_.replace(discovery_doc_.find("[\"RS256\"]"), 9, "[\"ES256\"]");
  MakeRp();
  LoginStart s = Begin();
  EXPECT_NE(Refused(s, Callback(s), "id_token_invalid").message.find("alg_not_allowed"),
            std::string::npos);
}

TEST_F(RelyingPartyTest, SeveralAudiencesNeedAzp) {
  LoginStart s = Begin();
  claims_["aud"] = std::string(R"([")") + kClientId + R"(","other-api"])";
  Refused(s, Callback(s), "azp_mismatch");
  claims_["azp"] = "\"other-api\"";
  Refused(s, Callback(s), "azp_mismatch");
  claims_["azp"] = std::string("\"") + kClientId + "\"";
  EXPECT_TRUE(rp_->CompleteLogin(s.state, Callback(s)).has_value());
}

TEST_F(RelyingPartyTest, MaxAgeRequiresRecentAuthTime) {
  LoginParams p;
  p.max_age = std::chrono::seconds(60);
  LoginStart s = Begin(p);
  claims_.erase("auth_time");
  Refused(s, Callback(s), "auth_time_missing");
  claims_["auth_time"] = std::to_string(Now() - 60 - 60 - 1);  // beyond max_age + skew
  Refused(s, Callback(s), "auth_too_old");
  claims_["auth_time"] = std::to_string(Now() - 30);
  EXPECT_TRUE(rp_->CompleteLogin(s.state, Callback(s)).has_value());
}

TEST_F(RelyingPartyTest, AuthTimeNotRequiredWithoutMaxAge) {
  LoginStart s = Begin();
  claims_.erase("auth_time");
  auto who = rp_->CompleteLogin(s.state, Callback(s));
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_FALSE(who->auth_time.has_value());
}

TEST_F(RelyingPartyTest, AcrValuesMustBeSatisfied) {
  LoginParams p;
  p.acr_values = {"urn:loa:3"};
  LoginStart s = Begin(p);
  Refused(s, Callback(s), "acr_not_satisfied");  // token says urn:loa:2
  claims_.erase("acr");
  Refused(s, Callback(s), "acr_not_satisfied");
  claims_["acr"] = "\"urn:loa:3\"";
  EXPECT_TRUE(rp_->CompleteLogin(s.state, Callback(s)).has_value());
}

TEST(ParseCallbackQueryTest, DecodesKnownParameters) {
  auto cb = ParseCallbackQuery("?code=a%2Bb&state=s+1&iss=https%3A%2F%2Fidp&x=1&error_description=");
  ASSERT_TRUE(cb.has_value()) << cb.error();
  EXPECT_EQ(cb->code, "a+b");
  EXPECT_EQ(cb->state, "s 1");
  EXPECT_EQ(cb->iss, "https://idp");
  EXPECT_EQ(cb->error_description, "");
  EXPECT_FALSE(cb->error.has_value());
}

TEST(ParseCallbackQueryTest, RefusesRepeatedParametersAndBadEscapes) {
  for (const char* q : {"state=a&state=b", "code=1&code=2", "state=%zz", "state=%4"}) {
    auto cb = ParseCallbackQuery(q);
    ASSERT_FALSE(cb.has_value()) << q;
    EXPECT_EQ(cb.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(OidcReasonOf(cb.error()), "invalid_request");
  }
  EXPECT_FALSE(ParseCallbackQuery(std::string(20000, 'a')).has_value());
}

}  // namespace
}  // namespace opsgate::identity::oidc
