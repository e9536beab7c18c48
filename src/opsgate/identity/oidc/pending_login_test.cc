#include "opsgate/identity/oidc/pending_login.h"

#include <gtest/gtest.h>

namespace opsgate::identity::oidc {
namespace {

TEST(PendingLoginTest, RoundTripsThroughTheStoredForm) {
  LoginState s;
  s.state = core::Secret("st");
  s.nonce = core::Secret("no");
  s.code_verifier = core::Secret("ver");
  s.issuer = "https://idp";
  s.redirect_uri = "https://gw/cb";
  s.created_at = core::Clock::WallTime(std::chrono::seconds(100));
  s.expires_at = core::Clock::WallTime(std::chrono::seconds(700));
  s.max_age = std::chrono::seconds(60);
  s.acr_values = {"a", "b"};
  s.prompt = "login";
  s.context = "ctx";
  const store::PendingLogin p = ToPendingLogin(s);
  EXPECT_EQ(p.state_hash, StateHash("st"));
  EXPECT_EQ(p.state_hash.size(), 32u);
  const LoginState back = FromPendingLogin(p);
  EXPECT_EQ(back.state.Reveal(), "st");
  EXPECT_EQ(back.nonce.Reveal(), "no");
  EXPECT_EQ(back.code_verifier.Reveal(), "ver");
  EXPECT_EQ(back.issuer, s.issuer);
  EXPECT_EQ(back.redirect_uri, s.redirect_uri);
  EXPECT_EQ(back.max_age, s.max_age);
  EXPECT_EQ(back.acr_values, s.acr_values);
  EXPECT_EQ(back.prompt, s.prompt);
  EXPECT_EQ(back.context, s.context);
  EXPECT_EQ(back.created_at, s.created_at);
  EXPECT_EQ(back.expires_at, s.expires_at);
}

TEST(PendingLoginTest, LinkTokensAreRandomUrlSafeAndHashed) {
  auto a = NewLinkToken();
  auto b = NewLinkToken();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->size(), 43u);
  EXPECT_NE(a->Reveal(), b->Reveal());
  EXPECT_EQ(a->Reveal().find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string_view::npos);
  EXPECT_EQ(LinkTokenHash(a->Reveal()).size(), 32u);
  EXPECT_NE(LinkTokenHash(a->Reveal()), LinkTokenHash(b->Reveal()));
}

}  // namespace
}  // namespace opsgate::identity::oidc
