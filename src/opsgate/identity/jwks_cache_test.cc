#include "opsgate/identity/jwks_cache.h"

#include <gtest/gtest.h>

#include "opsgate/http/client/fake_http_client.h"
#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/testing/test_signer.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity {
namespace {

using http::testing::FakeHttpClient;
using opsgate::testing::FakeClock;
using std::chrono::seconds;
using testing::TestSigner;

const TestSigner& KeyA() {
  static const TestSigner s = TestSigner::Generate(TestSigner::Kind::kEs256, "a");
  return s;
}
const TestSigner& KeyB() {
  static const TestSigner s = TestSigner::Generate(TestSigner::Kind::kEs256, "b");
  return s;
}

JwksCacheOptions Options() {
  JwksCacheOptions o;
  o.jwks_uri = "https://idp.example.com/jwks";
  o.default_ttl = seconds(300);
  o.min_ttl = seconds(60);
  o.max_ttl = seconds(3600);
  o.min_refresh_interval = seconds(30);
  return o;
}

TEST(JwksCache, FetchesOnceAndServesFromCache) {
  FakeHttpClient http;
  FakeClock clock;
  http.PushResponse(200, KeyA().Jwks());
  JwksCache cache(Options(), http, clock);
  auto k1 = cache.KeysFor(std::string("a"));
  ASSERT_TRUE(k1.has_value()) << k1.error().message;
  EXPECT_TRUE((*k1)->HasKid("a"));
  auto k2 = cache.KeysFor(std::nullopt);
  ASSERT_TRUE(k2.has_value());
  EXPECT_EQ(http.RequestCount(), 1u);
  EXPECT_EQ(http.Requests()[0].method, "GET");
  EXPECT_EQ(http.Requests()[0].url, "https://idp.example.com/jwks");
}

TEST(JwksCache, HonoursMaxAgeWithinBounds) {
  FakeHttpClient http;
  FakeClock clock;
  http.SetDefault(FakeHttpClient::Response(200, KeyA().Jwks(), {{"cache-control", "public, max-age=120"}}));
  JwksCache cache(Options(), http, clock);
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  clock.Advance(seconds(119));
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  EXPECT_EQ(http.RequestCount(), 1u);
  clock.Advance(seconds(1));
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  EXPECT_EQ(http.RequestCount(), 2u);
}

TEST(JwksCache, ClampsTinyAndHugeMaxAge) {
  FakeHttpClient http;
  FakeClock clock;
  http.PushResponse(200, KeyA().Jwks(), {{"cache-control", "max-age=1"}});
  http.PushResponse(200, KeyA().Jwks(), {{"cache-control", "max-age=999999999"}});
  http.SetDefault(FakeHttpClient::Response(200, KeyA().Jwks()));
  JwksCache cache(Options(), http, clock);
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  clock.Advance(seconds(59));
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  EXPECT_EQ(http.RequestCount(), 1u) << "max-age=1 is raised to min_ttl (60 s)";
  clock.Advance(seconds(1));
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  EXPECT_EQ(http.RequestCount(), 2u);
  clock.Advance(seconds(3600));
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  EXPECT_EQ(http.RequestCount(), 3u) << "huge max-age is capped at max_ttl (3600 s)";
}

TEST(JwksCache, UnknownKidRefreshesAtMostOncePerInterval) {
  FakeHttpClient http;
  FakeClock clock;
  http.PushResponse(200, KeyA().Jwks());
  http.SetDefault(FakeHttpClient::Response(
      200, R"({"keys":[)" + KeyA().PublicJwk() + "," + KeyB().PublicJwk() + "]}"));
  JwksCache cache(Options(), http, clock);
  ASSERT_TRUE(cache.KeysFor(std::string("a")).has_value());
  // Right after the first fetch the rate limit holds the refresh back.
  auto early = cache.KeysFor(std::string("b"));
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE((*early)->HasKid("b"));
  EXPECT_EQ(http.RequestCount(), 1u);
  clock.Advance(seconds(30));
  auto rotated = cache.KeysFor(std::string("b"));
  ASSERT_TRUE(rotated.has_value());
  EXPECT_TRUE((*rotated)->HasKid("b"));
  EXPECT_EQ(http.RequestCount(), 2u);
  // A flood of forged kids causes at most one fetch per interval.
  for (int i = 0; i < 50; ++i) {
    (void)cache.KeysFor("forged-" + std::to_string(i));
  }
  EXPECT_EQ(http.RequestCount(), 2u);
  clock.Advance(seconds(30));
  (void)cache.KeysFor(std::string("forged-x"));
  EXPECT_EQ(http.RequestCount(), 3u);
}

TEST(JwksCache, KeepsOldSetWhenRefreshFails) {
  FakeHttpClient http;
  FakeClock clock;
  http.PushResponse(200, KeyA().Jwks());
  http.PushError(core::Unavailable("connection refused"));
  http.PushResponse(500, "oops");
  http.PushResponse(200, "{not json");
  http.SetDefault(FakeHttpClient::Response(200, KeyB().Jwks()));
  JwksCache cache(Options(), http, clock);
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  for (int i = 0; i < 3; ++i) {
    clock.Advance(seconds(400));
    auto k = cache.KeysFor(std::nullopt);
    ASSERT_TRUE(k.has_value()) << "old set is kept after failure " << i;
    EXPECT_TRUE((*k)->HasKid("a"));
  }
  EXPECT_EQ(http.RequestCount(), 4u);
  clock.Advance(seconds(30));
  auto k = cache.KeysFor(std::nullopt);
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE((*k)->HasKid("b"));
}

TEST(JwksCache, FailedRetryIsRateLimited) {
  FakeHttpClient http;
  FakeClock clock;
  http.PushResponse(200, KeyA().Jwks());
  http.SetDefault(core::Fail(core::Unavailable("down")));
  JwksCache cache(Options(), http, clock);
  ASSERT_TRUE(cache.KeysFor(std::nullopt).has_value());
  clock.Advance(seconds(300));
  (void)cache.KeysFor(std::nullopt);
  (void)cache.KeysFor(std::nullopt);
  (void)cache.KeysFor(std::nullopt);
  EXPECT_EQ(http.RequestCount(), 2u);
}

TEST(JwksCache, UnavailableWhenNeverFetched) {
  FakeHttpClient http;
  FakeClock clock;
  http.SetDefault(FakeHttpClient::Response(503, ""));
  JwksCache cache(Options(), http, clock);
  auto k = cache.KeysFor(std::nullopt);
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(k.error().message.find("/jwks"), std::string::npos) << "URL path is not leaked";
}

TEST(JwksCache, DrivesJwtVerifierThroughKeyRotation) {
  FakeHttpClient http;
  FakeClock clock(1'700'000'000);
  http.PushResponse(200, KeyA().Jwks());
  http.SetDefault(FakeHttpClient::Response(200, KeyB().Jwks()));
  JwksCache cache(Options(), http, clock);
  JwtValidationOptions o;
  o.issuer = "iss";
  o.audience = "aud";
  JwtVerifier verifier(o, clock);
  const std::string claims = R"({"iss":"iss","aud":"aud","sub":"s","exp":1700009999})";
  EXPECT_TRUE(verifier.Verify(KeyA().Sign(R"({"alg":"ES256","kid":"a"})", claims), cache).has_value());
  clock.Advance(seconds(31));
  auto c = verifier.Verify(KeyB().Sign(R"({"alg":"ES256","kid":"b"})", claims), cache);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->key_kid, "b");
}

TEST(ParseCacheControlMaxAge, ParsesDirectives) {
  EXPECT_EQ(ParseCacheControlMaxAge("public, max-age=3600"), seconds(3600));
  EXPECT_EQ(ParseCacheControlMaxAge("MAX-AGE=5"), seconds(5));
  EXPECT_EQ(ParseCacheControlMaxAge("no-store"), seconds(0));
  EXPECT_EQ(ParseCacheControlMaxAge("max-age=-1"), std::nullopt);
  EXPECT_EQ(ParseCacheControlMaxAge("private"), std::nullopt);
}

}  // namespace
}  // namespace opsgate::identity
