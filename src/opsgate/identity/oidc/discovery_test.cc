#include "opsgate/identity/oidc/discovery.h"

#include <gtest/gtest.h>

#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity::oidc {
namespace {

using http::testing::FakeHttpClient;

constexpr const char* kIssuer = "https://idp.example.com/tenant";

std::string Doc(std::string issuer = kIssuer, std::string extra = "") {
  return R"({"issuer":")" + issuer +
         R"(","authorization_endpoint":"https://idp.example.com/auth",)"
         R"("token_endpoint":"https://idp.example.com/token",)"
         R"("jwks_uri":"https://idp.example.com/jwks",)"
         R"("response_types_supported":["code","id_token"],)"
         R"("id_token_signing_alg_values_supported":["RS256","ES256"])" +
         extra + "}";
}

DiscoveryOptions Options() {
  DiscoveryOptions o;
  o.issuer = kIssuer;
  return o;
}

void ExpectInvalid(const core::Result<ProviderMetadata>& md, std::string_view needle) {
  ASSERT_FALSE(md.has_value());
  EXPECT_EQ(md.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(md.error().message.find("discovery_invalid"), std::string::npos) << md.error();
  EXPECT_NE(md.error().message.find(needle), std::string::npos) << md.error();
}

TEST(DiscoveryUrlTest, AppendsWellKnownWithoutDoubleSlash) {
  EXPECT_EQ(DiscoveryUrl("https://a.example/t"), "https://a.example/t/.well-known/openid-configuration");
  EXPECT_EQ(DiscoveryUrl("https://a.example/"), "https://a.example/.well-known/openid-configuration");
}

TEST(IsAllowedEndpointTest, HttpsAlwaysHttpOnlyLoopbackWhenAllowed) {
  EXPECT_TRUE(IsAllowedEndpoint("https://idp.example.com/x", false));
  EXPECT_FALSE(IsAllowedEndpoint("http://127.0.0.1:8080/x", false));
  EXPECT_TRUE(IsAllowedEndpoint("http://127.0.0.1:8080/x", true));
  EXPECT_TRUE(IsAllowedEndpoint("http://localhost/x", true));
  EXPECT_TRUE(IsAllowedEndpoint("http://[::1]:9/x", true));
  EXPECT_FALSE(IsAllowedEndpoint("http://idp.example.com/x", true));
  EXPECT_FALSE(IsAllowedEndpoint("http://127.0.0.1.evil.com/x", true));
  EXPECT_FALSE(IsAllowedEndpoint("https://idp.example.com/x#frag", false));
  EXPECT_FALSE(IsAllowedEndpoint("https://user@idp.example.com/x", false));
  EXPECT_FALSE(IsAllowedEndpoint("ftp://idp.example.com/x", false));
  EXPECT_FALSE(IsAllowedEndpoint("/relative", false));
}

TEST(ParseProviderMetadataTest, AcceptsAValidDocument) {
  auto md = ParseProviderMetadata(
      Doc(kIssuer, R"(,"code_challenge_methods_supported":["plain","S256"],)"
                   R"("authorization_response_iss_parameter_supported":true)"),
      Options());
  ASSERT_TRUE(md.has_value()) << md.error();
  EXPECT_EQ(md->issuer, kIssuer);
  EXPECT_EQ(md->token_endpoint, "https://idp.example.com/token");
  EXPECT_EQ(md->id_token_signing_algs, (std::vector<JwsAlg>{JwsAlg::kRs256, JwsAlg::kEs256}));
  EXPECT_TRUE(md->authorization_response_iss_parameter_supported);
}

TEST(ParseProviderMetadataTest, RefusesAnotherIssuer) {
  ExpectInvalid(ParseProviderMetadata(Doc("https://evil.example.com/tenant"), Options()),
                "differs from the configured");
}

TEST(ParseProviderMetadataTest, IssuerMustMatchExactlyIncludingTrailingSlash) {
  ExpectInvalid(ParseProviderMetadata(Doc(std::string(kIssuer) + "/"), Options()), "issuer");
}

TEST(ParseProviderMetadataTest, RefusesMissingS256) {
  ExpectInvalid(ParseProviderMetadata(Doc(kIssuer, R"(,"code_challenge_methods_supported":["plain"])"),
                                      Options()),
                "S256");
}

TEST(ParseProviderMetadataTest, RefusesMissingEndpoints) {
  for (const char* member : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    std::string doc = Doc();
    const size_t at = doc.find(std::string("\"") + member);
    const size_t end = doc.find(',', at);
    doc.erase(at, end - at + 1);
    ExpectInvalid(ParseProviderMetadata(doc, Options()), member);
  }
}

TEST(ParseProviderMetadataTest, RefusesHttpEndpointsUnlessLoopbackAndAllowed) {
  std::string doc = Doc();
  doc.replace(doc.find("https://idp.example.com/token"), 29, "http://idp.example.com/token");
  ExpectInvalid(ParseProviderMetadata(doc, Options()), "token_endpoint");
  auto o = Options();
  o.allow_http = true;
  ExpectInvalid(ParseProviderMetadata(doc, o), "token_endpoint");

  const std::string local = "http://127.0.0.1:4000";
  o.issuer = local;
  std::string loop = R"({"issuer":"http://127.0.0.1:4000","authorization_endpoint":"http://127.0.0.1:4000/auth",)"
                     R"("token_endpoint":"http://127.0.0.1:4000/token","jwks_uri":"http://127.0.0.1:4000/jwks",)"
                     R"("id_token_signing_alg_values_supported":["RS256"]})";
  EXPECT_TRUE(ParseProviderMetadata(loop, o).has_value());
  o.allow_http = false;
  ExpectInvalid(ParseProviderMetadata(loop, o), "issuer");
}

TEST(ParseProviderMetadataTest, RefusesWhenNoSigningAlgIsAllowed) {
  std::string doc = Doc();
  doc.replace(doc.find(R"(["RS256","ES256"])"), 17, R"(["none","HS256"])");
  ExpectInvalid(ParseProviderMetadata(doc, Options()), "id_token_signing_alg_values_supported");
  auto o = Options();
  o.allowed_algs = {JwsAlg::kEdDsa};
  ExpectInvalid(ParseProviderMetadata(Doc(), o), "id_token_signing_alg_values_supported");
}

TEST(ParseProviderMetadataTest, RefusesProvidersWithoutCodeFlow) {
  std::string doc = Doc();
  doc.replace(doc.find(R"(["code","id_token"])"), 19, R"(["id_token"])");
  ExpectInvalid(ParseProviderMetadata(doc, Options()), "code");
}

TEST(ParseProviderMetadataTest, RefusesMalformedJsonAndDuplicateMembers) {
  ExpectInvalid(ParseProviderMetadata("not json", Options()), "JSON");
  ExpectInvalid(ParseProviderMetadata(R"({"issuer":"a","issuer":"b"})", Options()), "JSON");
  ExpectInvalid(ParseProviderMetadata(Doc(kIssuer, R"(,"scopes_supported":"openid")"), Options()),
                "scopes_supported");
}

class DiscoveryTest : public ::testing::Test {
 protected:
  opsgate::testing::FakeClock clock_;
  FakeHttpClient http_;
};

TEST_F(DiscoveryTest, FetchesOnceThenCachesForTtl) {
  http_.PushResponse(200, Doc());
  auto o = Options();
  o.ttl = std::chrono::seconds(100);
  Discovery d(o, http_, clock_);
  ASSERT_TRUE(d.Get().has_value());
  ASSERT_TRUE(d.Get().has_value());
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(http_.Requests()[0].url, std::string(kIssuer) + "/.well-known/openid-configuration");
  EXPECT_EQ(http_.Requests()[0].method, "GET");
  clock_.Advance(std::chrono::seconds(101));
  http_.PushResponse(200, Doc());
  ASSERT_TRUE(d.Get().has_value());
  EXPECT_EQ(d.fetch_count(), 2u);
}

TEST_F(DiscoveryTest, FailedRefreshKeepsOldDocumentAndIsRateLimited) {
  http_.PushResponse(200, Doc());
  auto o = Options();
  o.ttl = std::chrono::seconds(10);
  o.retry_interval = std::chrono::seconds(30);
  Discovery d(o, http_, clock_);
  ASSERT_TRUE(d.Get().has_value());
  clock_.Advance(std::chrono::seconds(11));
  http_.PushResponse(503);
  auto stale = d.Get();
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ((*stale)->issuer, kIssuer);
  ASSERT_TRUE(d.Get().has_value());
  EXPECT_EQ(d.fetch_count(), 2u) << "no retry inside retry_interval";
}

TEST_F(DiscoveryTest, ErrorsWithoutAnyGoodDocument) {
  http_.PushError(core::Unavailable("connect refused"));
  Discovery d(Options(), http_, clock_);
  auto r = d.Get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("connect refused"), std::string::npos);
  auto again = d.Get();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(d.fetch_count(), 1u);

  http_.PushResponse(200, Doc("https://other.example.com"));
  clock_.Advance(std::chrono::seconds(31));
  auto wrong = d.Get();
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(DiscoveryTest, Non200IsUnavailable) {
  http_.PushResponse(404, "nope");
  Discovery d(Options(), http_, clock_);
  auto r = d.Get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("404"), std::string::npos);
}

}  // namespace
}  // namespace opsgate::identity::oidc
