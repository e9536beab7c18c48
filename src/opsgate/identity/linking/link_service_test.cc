#include "opsgate/identity/linking/link_service.h"

#include <gtest/gtest.h>

#include "opsgate/audit/sink.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/http/client/fake_http_client.h"
#include "opsgate/identity/oidc/pending_login.h"
#include "opsgate/store/sqlite/sqlite_identity_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "opsgate/telemetry/log.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIssuer = "https://idp.example";

class LinkServiceTest : public ::testing::Test {
 protected:
  LinkServiceTest() {
    store_ = std::move(*store::SqliteStore::Open(":memory:"));
    identities_ = std::make_unique<store::SqliteIdentityStore>(*store_);
    // The provider is unreachable: every provider call fails (kUnavailable).
    http_.SetDefault(core::Fail(core::Unavailable("connection refused")));
    oidc::DiscoveryOptions d;
    d.issuer = kIssuer;
    discovery_ = std::make_unique<oidc::Discovery>(d, http_, clock_);
    oidc::RelyingPartyOptions rp;
    rp.client_id = "opsgate";
    rp.client_secret = core::Secret(std::string("s3cret"));
    rp.redirect_uri = "https://gw.example/auth/callback";
    rp_ = std::make_unique<oidc::RelyingParty>(std::move(rp), *discovery_, http_, clock_);
    LinkServiceOptions o;
    o.public_url = "https://gw.example";
    links_ = std::make_unique<LinkService>(o, *identities_, *identities_, *rp_, audit_, clock_, log_);
  }

  http::Request Get(std::string path, std::string query, std::string cookie = "") {
    http::Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(query);
    r.target = r.path + "?" + r.query;
    r.correlation_id = "corr-1";
    r.remote_address = "192.0.2.7";
    if (!cookie.empty()) {
      r.headers.emplace_back("cookie", cookie);
    }
    return r;
  }
  static std::string Header(const http::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) {
        return v;
      }
    }
    return "";
  }

  opsgate::testing::FakeClock clock_{1'790'000'000};
  telemetry::MemorySink sink_;
  telemetry::Logger log_{sink_, clock_};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<store::SqliteIdentityStore> identities_;
  http::testing::FakeHttpClient http_;
  std::unique_ptr<oidc::Discovery> discovery_;
  std::unique_ptr<oidc::RelyingParty> rp_;
  audit::MemoryAuditSink audit_;
  std::unique_ptr<LinkService> links_;
  const store::PlatformAccount ada_{"slack", "T0ACME", "U0ADA"};
};

TEST_F(LinkServiceTest, AnUnlinkedAccountResolvesToNobody) {
  auto who = links_->Resolve(ada_);
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_EQ(who->state, ResolvedIdentity::State::kNotLinked);
  EXPECT_FALSE(who->principal.has_value());
}

TEST_F(LinkServiceTest, ALinkedAccountResolvesToItsPrincipalUntilTheLinkExpires) {
  ASSERT_TRUE(identities_->Link(ada_, {kIssuer, "alice", "alice@example.com", {"ops"}},
                                clock_.Now(), 1h)
                  .has_value());
  auto who = links_->Resolve(ada_);
  ASSERT_TRUE(who.has_value());
  ASSERT_EQ(who->state, ResolvedIdentity::State::kLinked);
  EXPECT_EQ(who->principal->Id(), std::string(kIssuer) + "|alice");
  EXPECT_EQ(who->principal->email, "alice@example.com");
  EXPECT_EQ(who->principal->groups, std::vector<std::string>{"ops"});
  clock_.Advance(2h);
  who = links_->Resolve(ada_);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->state, ResolvedIdentity::State::kExpired);

  auto was = links_->Unlink(ada_);
  ASSERT_TRUE(was.has_value());
  EXPECT_TRUE(*was);
  EXPECT_EQ(links_->Resolve(ada_)->state, ResolvedIdentity::State::kNotLinked);
  EXPECT_EQ(audit_.records().back().action, "identity.unlink");
}

TEST_F(LinkServiceTest, ALinkUrlWorksOnceAndIsStoredOnlyAsAHash) {
  auto url = links_->StartLink(ada_);
  ASSERT_TRUE(url.has_value()) << url.error();
  ASSERT_EQ(url->rfind("https://gw.example/auth/login?t=", 0), 0u) << *url;
  const std::string token = url->substr(url->find("t=") + 2);
  EXPECT_EQ(token.size(), 43u);

  // The provider is down: the login fails, the token is spent all the same.
  const http::Response first = links_->Login(Get("/auth/login", "t=" + token));
  EXPECT_EQ(first.status, 503) << first.body;
  EXPECT_NE(first.body.find("identity provider"), std::string::npos) << first.body;
  const http::Response again = links_->Login(Get("/auth/login", "t=" + token));
  EXPECT_EQ(again.status, 410) << again.body;
  EXPECT_NE(again.body.find("already used"), std::string::npos) << again.body;
  EXPECT_EQ(Header(again, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(again, "Referrer-Policy"), "no-referrer");
  EXPECT_NE(Header(again, "Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  const auto records = audit_.records();
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records.back().kind, audit::RecordKind::kRejection);
  EXPECT_EQ(records.back().reason, "link_token_unknown");
}

TEST_F(LinkServiceTest, LoginWithoutOrWithAMalformedTokenIsRefused) {
  EXPECT_EQ(links_->Login(Get("/auth/login", "")).status, 400);
  EXPECT_EQ(links_->Login(Get("/auth/login", "t=%3Cscript%3E")).status, 400);
  const http::Response r = links_->Login(Get("/auth/login", "t=" + std::string(43, 'A')));
  EXPECT_EQ(r.status, 410);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
}

TEST_F(LinkServiceTest, ACallbackForAnUnknownStateChangesNothing) {
  const http::Response r = links_->Callback(Get("/auth/callback", "code=abc&state=nope"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(audit_.records().back().reason, "unknown_state");
  EXPECT_EQ(links_->Callback(Get("/auth/callback", "code=abc")).status, 400);
}

TEST_F(LinkServiceTest, ACallbackFromAnotherBrowserIsRefusedAndTheLoginIsSpent) {
  // A pending login as /auth/login leaves it, bound to a cookie this browser lacks.
  store::PendingLogin pending;
  pending.state = core::Secret(std::string("state-123"));
  pending.state_hash = oidc::StateHash("state-123");
  pending.nonce = core::Secret(std::string("n"));
  pending.code_verifier = core::Secret(std::string(43, 'v'));
  pending.issuer = kIssuer;
  pending.redirect_uri = "https://gw.example/auth/callback";
  pending.context =
      EncodeLinkContext({"link", ada_, crypto::HexEncode(crypto::Sha256("the-binding"))});
  pending.created_at = clock_.Now();
  pending.expires_at = clock_.Now() + 10min;
  ASSERT_TRUE(identities_->PutLoginState(pending).has_value());

  const http::Response r =
      links_->Callback(Get("/auth/callback", "code=abc&state=state-123",
                           std::string(LinkService::kBindingCookie) + "=someone-else"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("another browser"), std::string::npos) << r.body;
  EXPECT_EQ(audit_.records().back().reason, "browser_mismatch");
  EXPECT_EQ(audit_.records().back().user, "U0ADA");
  EXPECT_EQ(links_->Resolve(ada_)->state, ResolvedIdentity::State::kNotLinked);
  // Single use: the same state again is unknown.
  EXPECT_EQ(links_->Callback(Get("/auth/callback", "code=abc&state=state-123")).status, 400);
}

TEST_F(LinkServiceTest, LinkContextRoundTripsAndRefusesGarbage) {
  auto decoded = DecodeLinkContext(EncodeLinkContext({"link", ada_, "abcd"}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->purpose, "link");
  EXPECT_EQ(decoded->account, ada_);
  EXPECT_EQ(decoded->binding_hash, "abcd");
  auto signin = DecodeLinkContext(EncodeLinkContext({"signin", {}, "ef"}));
  ASSERT_TRUE(signin.has_value());
  EXPECT_EQ(signin->purpose, "signin");
  EXPECT_FALSE(DecodeLinkContext("slack").has_value());
  EXPECT_FALSE(DecodeLinkContext(EncodeLinkContext({"link", {"slack", "", "U1"}, "ab"})).has_value());
  EXPECT_FALSE(DecodeLinkContext(EncodeLinkContext({"signin", ada_, "ab"})).has_value());
  EXPECT_FALSE(DecodeLinkContext(EncodeLinkContext({"other", {}, "ab"})).has_value());
  EXPECT_FALSE(DecodeLinkContext(EncodeLinkContext({"signin", {}, ""})).has_value());
}

TEST_F(LinkServiceTest, SignInIsOnlyAvailableWithAHandler) {
  const http::Response r = links_->SignIn(Get("/auth/signin", ""));
  EXPECT_EQ(r.status, 404);
  links_->SetSignInHandler([](const oidc::Identity&, const http::Request&) {
    return http::Response::Text(200, "signed in");
  });
  // The provider is down here: the redirect cannot be made, and the refusal says why.
  EXPECT_EQ(links_->SignIn(Get("/auth/signin", "")).status, 503);
}

}  // namespace
}  // namespace opsgate::identity
