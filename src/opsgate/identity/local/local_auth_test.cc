#include "opsgate/identity/local/local_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/testing/fake_key_provider.h"
#include "opsgate/store/sqlite/sqlite_local_auth_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::identity::local {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using std::chrono::minutes;
using std::chrono::seconds;

// 1'700'000'010 is 10 s into a 30 s step, away from step boundaries.
constexpr int64_t kStart = 1'700'000'010;
const char kPassword[] = "correct horse battery staple";

class LocalAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::Open(":memory:");
    ASSERT_TRUE(s.has_value()) << s.error();
    sqlite_ = std::move(*s);
    store_ = std::make_unique<store::SqliteLocalAuthStore>(*sqlite_);
    auth_ = std::make_unique<LocalAuthenticator>(*store_, sealer_, clock_, Options());
  }

  static LocalAuthOptions Options() {
    LocalAuthOptions o;
    o.scrypt.log2_n = 10;  // cheap for tests
    return o;
  }

  std::string Code(const std::string& key, int64_t offset_steps = 0) {
    return *TotpAt(key, clock_.UnixSeconds() + offset_steps * 30, TotpParams{});
  }

  // Enrols and confirms `name`; returns the raw TOTP key. Leaves the clock one step on,
  // so the next code is fresh.
  std::string Enrolled(const std::string& name, bool admin = false) {
    auto token = auth_->CreateEnrolmentToken(admin, minutes(60), admin ? "first-admin" : "invite");
    EXPECT_TRUE(token.has_value());
    auto e = auth_->Enrol(*token, name, core::Secret(kPassword));
    EXPECT_TRUE(e.has_value()) << e.error();
    std::string key = *Base32Decode(e->totp.base32_secret.Reveal());
    auto confirmed = auth_->ConfirmTotp(name, Code(key));
    EXPECT_TRUE(confirmed.has_value()) << confirmed.error();
    clock_.Advance(seconds(30));
    return key;
  }

  core::Result<LoginOutcome> Login(const std::string& name, const std::string& password,
                                   const std::string& code, const std::string& ip = "10.0.0.1") {
    return auth_->Login(name, core::Secret(password), code, ip);
  }

  static LoginRefusal Refusal(const core::Result<LoginOutcome>& out) {
    EXPECT_TRUE(out.has_value()) << out.error();
    const auto* r = std::get_if<LoginRefused>(&*out);
    EXPECT_NE(r, nullptr) << "expected a refusal, got a session";
    return r ? r->reason : LoginRefusal::kBadCredentials;
  }

  static const Session* Ok(const core::Result<LoginOutcome>& out) {
    EXPECT_TRUE(out.has_value()) << out.error();
    const Session* s = out.has_value() ? std::get_if<Session>(&*out) : nullptr;
    if (s == nullptr && out.has_value()) {
      ADD_FAILURE() << "refused: "
                    << LoginRefusalName(std::get<LoginRefused>(*out).reason);
    }
    return s;
  }

  testing::FakeClock clock_{kStart};
  crypto::testing::FakeKeyProvider kek_;
  crypto::FieldSealer sealer_{kek_};
  std::unique_ptr<store::SqliteStore> sqlite_;
  std::unique_ptr<store::SqliteLocalAuthStore> store_;
  std::unique_ptr<LocalAuthenticator> auth_;
};

// ---- usernames

TEST(NormaliseUsername, LowercasesAndValidates) {
  EXPECT_EQ(*NormaliseUsername("Alice.Ops-1_x"), "alice.ops-1_x");
  EXPECT_FALSE(NormaliseUsername("al").has_value());
  EXPECT_FALSE(NormaliseUsername(std::string(65, 'a')).has_value());
  EXPECT_FALSE(NormaliseUsername("alice@example.com").has_value());
  EXPECT_FALSE(NormaliseUsername("ali ce").has_value());
  EXPECT_THAT(NormaliseUsername("oidc:x").error().message, StartsWith("invalid_username:"));
}

// ---- enrolment

TEST_F(LocalAuthTest, EnrolmentReturnsProvisioningWithQrCode) {
  auto token = auth_->CreateEnrolmentToken(true, minutes(60), "first-admin");
  ASSERT_TRUE(token.has_value()) << token.error();
  EXPECT_EQ(token->size(), 43u);
  auto e = auth_->Enrol(*token, "Root", core::Secret(kPassword));
  ASSERT_TRUE(e.has_value()) << e.error();
  EXPECT_EQ(e->username, "root");
  EXPECT_TRUE(e->is_admin);
  EXPECT_THAT(std::string(e->totp.otpauth_uri.Reveal()),
              StartsWith("otpauth://totp/opsgate:root?secret=" +
                         std::string(e->totp.base32_secret.Reveal())));
  EXPECT_EQ(Base32Decode(e->totp.base32_secret.Reveal())->size(), 20u);
  EXPECT_THAT(e->totp.qr_svg, StartsWith("<svg"));
}

TEST_F(LocalAuthTest, EnrolmentTokenIsSingleUse) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  ASSERT_TRUE(auth_->Enrol(*token, "alice", core::Secret(kPassword)).has_value());
  auto again = auth_->Enrol(*token, "bob", core::Secret(kPassword));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::kNotFound);
  EXPECT_THAT(again.error().message, StartsWith("enrolment_token_invalid:"));
}

TEST_F(LocalAuthTest, EnrolmentTokenExpires) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(10));
  clock_.Advance(minutes(10));
  auto e = auth_->Enrol(*token, "alice", core::Secret(kPassword));
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error().message, StartsWith("enrolment_token_invalid:"));
}

TEST_F(LocalAuthTest, ForgedOrMalformedEnrolmentTokenIsRefused) {
  auto e = auth_->Enrol(core::Secret("not-a-token"), "alice", core::Secret(kPassword));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, core::ErrorCode::kNotFound);
  e = auth_->Enrol(core::Secret(std::string(43, 'A')), "alice", core::Secret(kPassword));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, core::ErrorCode::kNotFound);
}

TEST_F(LocalAuthTest, PolicyRefusalLeavesTheTokenUsable) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  auto weak = auth_->Enrol(*token, "alice", core::Secret("short"));
  ASSERT_FALSE(weak.has_value());
  EXPECT_THAT(weak.error().message, StartsWith("password_policy:"));
  auto bad_name = auth_->Enrol(*token, "a", core::Secret(kPassword));
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_THAT(bad_name.error().message, StartsWith("invalid_username:"));
  EXPECT_TRUE(auth_->Enrol(*token, "alice", core::Secret(kPassword)).has_value());
}

TEST_F(LocalAuthTest, TakenUsernameIsRefusedAndTokenStaysUsable) {
  Enrolled("alice");
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  auto e = auth_->Enrol(*token, "ALICE", core::Secret(kPassword));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_TRUE(auth_->Enrol(*token, "bob", core::Secret(kPassword)).has_value());
}

TEST_F(LocalAuthTest, HasAnyAdminOnlyOnceAnAdminConfirmedTotp) {
  EXPECT_FALSE(*auth_->HasAnyAdmin());
  auto token = auth_->CreateEnrolmentToken(true, minutes(60), "first-admin");
  auto e = auth_->Enrol(*token, "root", core::Secret(kPassword));
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(*auth_->HasAnyAdmin()) << "enrolment not finished";
  const std::string key = *Base32Decode(e->totp.base32_secret.Reveal());
  ASSERT_TRUE(auth_->ConfirmTotp("root", Code(key)).has_value());
  EXPECT_TRUE(*auth_->HasAnyAdmin());
}

TEST_F(LocalAuthTest, CreateEnrolmentTokenValidatesArguments) {
  EXPECT_EQ(auth_->CreateEnrolmentToken(false, seconds(10)).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateEnrolmentToken(false, minutes(5), "admin").error().code,
            core::ErrorCode::kInvalidArgument);
}

TEST_F(LocalAuthTest, TotpSecretIsNotStoredInTheClear) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  auto e = auth_->Enrol(*token, "alice", core::Secret(kPassword));
  ASSERT_TRUE(e.has_value());
  const std::string key = *Base32Decode(e->totp.base32_secret.Reveal());
  const std::string b32(e->totp.base32_secret.Reveal());
  std::string raw_row;
  sqlite_->WithDatabase([&](store::sqlite_internal::Database& db) {
    auto st = db.Prepare(
        "SELECT quote(username) || quote(password_hash) || quote(totp_secret_sealed) FROM "
        "local_accounts");
    ASSERT_TRUE(st.has_value());
    ASSERT_TRUE(*st->Step());
    raw_row = st->ColumnText(0);
    auto blob = db.Prepare("SELECT totp_secret_sealed FROM local_accounts");
    ASSERT_TRUE(*blob->Step());
    const std::string sealed = blob->ColumnBlob(0);
    EXPECT_EQ(sealed.find(key), std::string::npos);
    EXPECT_EQ(sealed[0], '\x01') << "FieldSealer format version 1";
    // Bound to the username: it does not open as someone else's secret.
    EXPECT_FALSE(sealer_.Open(sealed, "opsgate-totp-v1:bob").has_value());
    EXPECT_EQ(*sealer_.Open(sealed, "opsgate-totp-v1:alice"), key);
  });
  EXPECT_EQ(raw_row.find(b32), std::string::npos);
  EXPECT_EQ(raw_row.find(crypto::HexEncode(key)), std::string::npos);
  EXPECT_EQ(raw_row.find(kPassword), std::string::npos);
}

// ---- TOTP confirmation

TEST_F(LocalAuthTest, ConfirmTotpFollowsRfc6238Timing) {
  // RFC 6238 Appendix B, SHA-1 seed; 6-digit codes are the last 6 digits of the 8-digit
  // vectors.
  const std::string seed = "12345678901234567890";
  ASSERT_TRUE(store_
                  ->CreateAccount({"alice", *HashPassword(core::Secret(kPassword), Options().scrypt),
                                   *sealer_.Seal(seed, "opsgate-totp-v1:alice"), false, false,
                                   false, clock_.Now(), clock_.Now()})
                  .has_value());
  clock_.SetUnixSeconds(59);
  EXPECT_TRUE(auth_->ConfirmTotp("alice", "287082").has_value());  // 94287082
  clock_.SetUnixSeconds(1111111109);
  EXPECT_TRUE(auth_->ConfirmTotp("alice", "081804").has_value());  // 07081804
  clock_.SetUnixSeconds(1111111111 + 30);
  // T=1111111111 (14050471) is one step behind: accepted within ±1.
  EXPECT_TRUE(auth_->ConfirmTotp("alice", "050471").has_value());
  clock_.SetUnixSeconds(1234567890 - 60);
  // T=1234567890 (89005924) is two steps ahead: refused.
  auto ahead = auth_->ConfirmTotp("alice", "005924");
  ASSERT_FALSE(ahead.has_value());
  EXPECT_THAT(ahead.error().message, StartsWith("totp_invalid:"));
  clock_.SetUnixSeconds(1234567890 - 30);  // one step ahead: accepted
  EXPECT_TRUE(auth_->ConfirmTotp("alice", "005924").has_value());
  EXPECT_TRUE((*store_->GetAccount("alice"))->totp_confirmed);
}

TEST_F(LocalAuthTest, ConfirmTotpRefusesWrongAndReusedCodes) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  auto e = auth_->Enrol(*token, "alice", core::Secret(kPassword));
  const std::string key = *Base32Decode(e->totp.base32_secret.Reveal());
  const std::string code = Code(key);
  const std::string wrong = code == "000000" ? "000001" : "000000";
  auto bad = auth_->ConfirmTotp("alice", wrong);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_THAT(bad.error().message, StartsWith("totp_invalid:"));
  EXPECT_FALSE((*store_->GetAccount("alice"))->totp_confirmed);
  ASSERT_TRUE(auth_->ConfirmTotp("alice", code).has_value());
  auto reused = auth_->ConfirmTotp("alice", code);
  ASSERT_FALSE(reused.has_value());
  EXPECT_THAT(reused.error().message, StartsWith("totp_reused:"));
  // Previous step's code after a newer one: refused too (monotonic guard).
  auto older = auth_->ConfirmTotp("alice", Code(key, -1));
  ASSERT_FALSE(older.has_value());
  EXPECT_THAT(older.error().message, StartsWith("totp_reused:"));
}

TEST_F(LocalAuthTest, ConfirmTotpForUnknownUserLooksLikeAWrongCode) {
  auto r = auth_->ConfirmTotp("nobody", "123456");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith("totp_invalid:"));
}

// ---- login

TEST_F(LocalAuthTest, LoginSucceedsAndOpensASession) {
  const std::string key = Enrolled("alice");
  auto out = Login("Alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->token.size(), 43u);
  EXPECT_EQ(s->csrf_token.size(), 43u);
  EXPECT_EQ(s->username, "alice");
  EXPECT_EQ(s->absolute_expires_at, clock_.Now() + std::chrono::hours(12));
  EXPECT_EQ(s->idle_expires_at, clock_.Now() + minutes(30));
  auto info = auth_->ValidateSession(s->token);
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(info->username, "alice");
  EXPECT_EQ(info->Principal(), "alice");
  EXPECT_FALSE(info->is_admin);
  EXPECT_EQ(info->mfa_verified_at, clock_.Now());
  EXPECT_EQ(info->csrf_token.Reveal(), s->csrf_token.Reveal());
}

TEST_F(LocalAuthTest, SessionTokenIsNotStored) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  sqlite_->WithDatabase([&](store::sqlite_internal::Database& db) {
    auto st = db.Prepare("SELECT hex(token_hash) FROM local_sessions");
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnText(0).size(), 64u);
    EXPECT_EQ(st->ColumnText(0).find(s->token.Reveal()), std::string::npos);
  });
}

TEST_F(LocalAuthTest, UnknownUserAndWrongPasswordAreTheSameRefusal) {
  const std::string key = Enrolled("alice");
  EXPECT_EQ(Refusal(Login("nobody", kPassword, Code(key))), LoginRefusal::kBadCredentials);
  EXPECT_EQ(Refusal(Login("alice", "wrong password here", Code(key))),
            LoginRefusal::kBadCredentials);
  EXPECT_EQ(Refusal(Login("!!", kPassword, Code(key))), LoginRefusal::kBadCredentials);
  EXPECT_EQ(LoginRefusalName(LoginRefusal::kBadCredentials), "bad_credentials");
}

TEST_F(LocalAuthTest, TotpRefusals) {
  const std::string key = Enrolled("alice");
  EXPECT_EQ(Refusal(Login("alice", kPassword, "")), LoginRefusal::kTotpRequired);
  EXPECT_EQ(Refusal(Login("alice", kPassword, Code(key, 3))), LoginRefusal::kTotpInvalid);
  EXPECT_EQ(Refusal(Login("alice", kPassword, "12345")), LoginRefusal::kTotpInvalid);
  const std::string code = Code(key);
  ASSERT_NE(Ok(Login("alice", kPassword, code)), nullptr);
  EXPECT_EQ(Refusal(Login("alice", kPassword, code)), LoginRefusal::kTotpReused);
  EXPECT_EQ(LoginRefusalName(LoginRefusal::kTotpReused), "totp_reused");
}

TEST_F(LocalAuthTest, DisabledAccountIsRefusedAndLosesItsSessions) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(auth_->SetAccountDisabled("alice", true).has_value());
  auto info = auth_->ValidateSession(s->token);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, StartsWith("session_unknown:"));
  clock_.Advance(seconds(30));
  EXPECT_EQ(Refusal(Login("alice", kPassword, Code(key))), LoginRefusal::kAccountDisabled);
  // Only after the password: a wrong password still says bad_credentials.
  EXPECT_EQ(Refusal(Login("alice", "wrong password here", Code(key))),
            LoginRefusal::kBadCredentials);
}

TEST_F(LocalAuthTest, DisabledAccountSessionCreatedBeforeIsRefused) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(store_->SetDisabled("alice", true).has_value());  // behind the API's back
  auto info = auth_->ValidateSession(s->token);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, StartsWith("account_disabled:"));
}

TEST_F(LocalAuthTest, UnconfirmedEnrolmentIsRefused) {
  auto token = auth_->CreateEnrolmentToken(false, minutes(60));
  auto e = auth_->Enrol(*token, "alice", core::Secret(kPassword));
  const std::string key = *Base32Decode(e->totp.base32_secret.Reveal());
  EXPECT_EQ(Refusal(Login("alice", kPassword, Code(key))), LoginRefusal::kEnrolmentIncomplete);
}

TEST_F(LocalAuthTest, LoginRehashesOutdatedPasswordHash) {
  const std::string key = Enrolled("alice");
  const std::string before = (*store_->GetAccount("alice"))->password_hash;
  LocalAuthOptions stronger = Options();
  stronger.scrypt.log2_n = 11;
  LocalAuthenticator upgraded(*store_, sealer_, clock_, stronger);
  ASSERT_NE(Ok(upgraded.Login("alice", core::Secret(kPassword), Code(key), "")), nullptr);
  const std::string after = (*store_->GetAccount("alice"))->password_hash;
  EXPECT_NE(before, after);
  EXPECT_THAT(after, StartsWith("$scrypt$ln=11,"));
}

// ---- throttling

TEST_F(LocalAuthTest, UsernameThrottlingLocksOutExponentiallyAndReleases) {
  const std::string key = Enrolled("alice");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Refusal(Login("alice", "wrong password here", "", "10.0.0." + std::to_string(i))),
              LoginRefusal::kBadCredentials);
  }
  // The right password does not get through a lockout, from any address.
  auto locked = Login("alice", kPassword, Code(key), "192.0.2.1");
  ASSERT_EQ(Refusal(locked), LoginRefusal::kThrottled);
  EXPECT_EQ(std::get<LoginRefused>(*locked).retry_after, seconds(60));
  clock_.Advance(seconds(61));
  EXPECT_EQ(Refusal(Login("alice", "wrong password here", "")), LoginRefusal::kBadCredentials);
  auto doubled = Login("alice", kPassword, Code(key));
  ASSERT_EQ(Refusal(doubled), LoginRefusal::kThrottled);
  EXPECT_EQ(std::get<LoginRefused>(doubled.value()).retry_after, seconds(120));
  // Other users are unaffected.
  EXPECT_EQ(Refusal(Login("bob", "wrong password here", "")), LoginRefusal::kBadCredentials);
  // After the window, the failures have aged out.
  clock_.Advance(minutes(15));
  const Session* s = Ok(Login("alice", kPassword, Code(key)));
  ASSERT_NE(s, nullptr);
}

TEST_F(LocalAuthTest, SuccessResetsTheUsernameCounter) {
  const std::string key = Enrolled("alice");
  for (int i = 0; i < 4; ++i) {
    Refusal(Login("alice", "wrong password here", ""));
  }
  ASSERT_NE(Ok(Login("alice", kPassword, Code(key))), nullptr);
  clock_.Advance(seconds(30));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Refusal(Login("alice", "wrong password here", "")), LoginRefusal::kBadCredentials);
  }
  EXPECT_NE(Ok(Login("alice", kPassword, Code(key))), nullptr);
}

TEST_F(LocalAuthTest, IpThrottlingCoversManyUsernames) {
  const std::string key = Enrolled("alice");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Refusal(Login("user" + std::to_string(i), kPassword, "", "198.51.100.7")),
              LoginRefusal::kBadCredentials);
    clock_.Advance(seconds(1));
  }
  auto throttled = Login("alice", kPassword, Code(key), "198.51.100.7");
  ASSERT_EQ(Refusal(throttled), LoginRefusal::kThrottled);
  EXPECT_EQ(std::get<LoginRefused>(*throttled).retry_after, minutes(15) - seconds(20));
  EXPECT_NE(Ok(Login("alice", kPassword, Code(key), "198.51.100.8")), nullptr);
  clock_.Advance(minutes(15));
  clock_.Advance(seconds(30));
  EXPECT_NE(Ok(Login("alice", kPassword, Code(key), "198.51.100.7")), nullptr);
}

TEST_F(LocalAuthTest, ThrottlingIsSharedThroughTheStore) {
  const std::string key = Enrolled("alice");
  for (int i = 0; i < 5; ++i) {
    Refusal(Login("alice", "wrong password here", ""));
  }
  // A second authenticator (another replica) on the same store sees the lockout.
  LocalAuthenticator replica(*store_, sealer_, clock_, Options());
  auto out = replica.Login("alice", core::Secret(kPassword), Code(key), "");
  EXPECT_EQ(Refusal(out), LoginRefusal::kThrottled);
}

// ---- sessions

TEST_F(LocalAuthTest, SessionIdleExpiry) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  clock_.Advance(minutes(20));
  ASSERT_TRUE(auth_->ValidateSession(s->token).has_value());  // touches last_seen
  clock_.Advance(minutes(20));
  auto info = auth_->ValidateSession(s->token);
  ASSERT_TRUE(info.has_value()) << "activity extends the idle expiry";
  EXPECT_EQ(info->idle_expires_at, clock_.Now() + minutes(30));
  clock_.Advance(minutes(30));
  auto expired = auth_->ValidateSession(s->token);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_THAT(expired.error().message, StartsWith("session_expired:"));
  auto gone = auth_->ValidateSession(s->token);
  EXPECT_THAT(gone.error().message, StartsWith("session_unknown:")) << "expired rows are deleted";
}

TEST_F(LocalAuthTest, SessionAbsoluteExpiryDespiteActivity) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 12 * 3 - 1; ++i) {
    clock_.Advance(minutes(20));
    ASSERT_TRUE(auth_->ValidateSession(s->token).has_value()) << i;
  }
  clock_.Advance(minutes(20));  // 12 h after login
  auto expired = auth_->ValidateSession(s->token);
  ASSERT_FALSE(expired.has_value());
  EXPECT_THAT(expired.error().message, StartsWith("session_expired:"));
}

TEST_F(LocalAuthTest, LogoutAndRevokeAll) {
  const std::string key = Enrolled("alice");
  auto a = Login("alice", kPassword, Code(key));
  clock_.Advance(seconds(30));
  auto b = Login("alice", kPassword, Code(key));
  clock_.Advance(seconds(30));
  auto c = Login("alice", kPassword, Code(key));
  ASSERT_TRUE(Ok(a) && Ok(b) && Ok(c));
  ASSERT_TRUE(auth_->Logout(std::get<Session>(*a).token).has_value());
  auto after = auth_->ValidateSession(std::get<Session>(*a).token);
  ASSERT_FALSE(after.has_value());
  EXPECT_THAT(after.error().message, StartsWith("session_unknown:"));
  EXPECT_TRUE(auth_->ValidateSession(std::get<Session>(*b).token).has_value());
  EXPECT_EQ(*auth_->RevokeAllFor("alice"), 2);
  EXPECT_FALSE(auth_->ValidateSession(std::get<Session>(*c).token).has_value());
  EXPECT_TRUE(auth_->Logout(core::Secret("garbage")).has_value());
}

TEST_F(LocalAuthTest, MalformedOrForgedCookieIsUnknown) {
  for (const char* cookie : {"", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto r = auth_->ValidateSession(core::Secret(cookie));
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, StartsWith("session_unknown:")) << cookie;
  }
}

TEST_F(LocalAuthTest, CsrfComparison) {
  const std::string key = Enrolled("alice");
  auto out = Login("alice", kPassword, Code(key));
  const Session* s = Ok(out);
  ASSERT_NE(s, nullptr);
  auto info = auth_->ValidateSession(s->token);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(LocalAuthenticator::CheckCsrf(*info, s->csrf_token.Reveal()));
  std::string wrong(s->csrf_token.Reveal());
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(LocalAuthenticator::CheckCsrf(*info, wrong));
  EXPECT_FALSE(LocalAuthenticator::CheckCsrf(*info, ""));
  EXPECT_FALSE(LocalAuthenticator::CheckCsrf(*info, s->csrf_token.Reveal().substr(1)));
}

TEST_F(LocalAuthTest, OidcSessionHasAPrincipalKey) {
  auto s = auth_->CreateOidcSession("https://idp.example.com", "user-1", true);
  ASSERT_TRUE(s.has_value()) << s.error();
  auto info = auth_->ValidateSession(s->token);
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(info->Principal(), "oidc:https://idp.example.com#user-1");
  EXPECT_TRUE(info->mfa_verified_at.has_value());
}

// ---- step-up

TEST_F(LocalAuthTest, StepUpIsBoundToTheExactRequestBytes) {
  const std::string key = Enrolled("alice");
  const std::string request = R"({"action":"ec2.stop","instance":"i-123"})";
  auto ch = auth_->BeginStepUp("alice", request);
  ASSERT_TRUE(ch.has_value()) << ch.error();
  EXPECT_EQ(ch->expires_at, clock_.Now() + minutes(5));
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("alice", request));
  ASSERT_TRUE(auth_->CompleteStepUp(ch->challenge_id, "alice", Code(key)).has_value());
  EXPECT_TRUE(*auth_->IsStepUpSatisfied("alice", request));
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("alice", request + " "));
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("alice", R"({"action":"ec2.stop","instance":"i-124"})"));
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("bob", request));
  EXPECT_FALSE(*auth_->ConsumeStepUp("alice", request + " "));
  EXPECT_TRUE(*auth_->ConsumeStepUp("alice", request));
  EXPECT_FALSE(*auth_->ConsumeStepUp("alice", request)) << "one step-up, one request";
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("alice", request));
}

TEST_F(LocalAuthTest, StepUpExpires) {
  const std::string key = Enrolled("alice");
  auto ch = auth_->BeginStepUp("alice", "req");
  clock_.Advance(minutes(5));
  auto late = auth_->CompleteStepUp(ch->challenge_id, "alice", Code(key));
  ASSERT_FALSE(late.has_value());
  EXPECT_THAT(late.error().message, StartsWith("step_up_expired:"));

  clock_.Advance(seconds(30));
  auto ch2 = auth_->BeginStepUp("alice", "req");
  ASSERT_TRUE(auth_->CompleteStepUp(ch2->challenge_id, "alice", Code(key)).has_value());
  clock_.Advance(minutes(5));
  EXPECT_FALSE(*auth_->IsStepUpSatisfied("alice", "req"));
  EXPECT_FALSE(*auth_->ConsumeStepUp("alice", "req")) << "a satisfied step-up expires too";
}

TEST_F(LocalAuthTest, StepUpRefusesOtherPrincipalsAndReusedCodes) {
  const std::string key = Enrolled("alice");
  const std::string bob_key = Enrolled("bob");
  auto ch = auth_->BeginStepUp("alice", "req");
  auto stolen = auth_->CompleteStepUp(ch->challenge_id, "bob", Code(bob_key));
  ASSERT_FALSE(stolen.has_value());
  EXPECT_THAT(stolen.error().message, StartsWith("step_up_unknown:"));
  const std::string code = Code(key);
  ASSERT_NE(Ok(Login("alice", kPassword, code)), nullptr);
  auto reused = auth_->CompleteStepUp(ch->challenge_id, "alice", code);
  ASSERT_FALSE(reused.has_value());
  EXPECT_THAT(reused.error().message, StartsWith("totp_reused:"));
  auto wrong = auth_->CompleteStepUp(ch->challenge_id, "alice", Code(key, 5));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().message, StartsWith("totp_invalid:"));
  auto forged = auth_->CompleteStepUp(core::Secret("x"), "alice", Code(key));
  ASSERT_FALSE(forged.has_value());
  EXPECT_THAT(forged.error().message, StartsWith("step_up_unknown:"));
}

TEST_F(LocalAuthTest, StepUpCompletedTwiceIsRefused) {
  const std::string key = Enrolled("alice");
  auto ch = auth_->BeginStepUp("alice", "req");
  ASSERT_TRUE(auth_->CompleteStepUp(ch->challenge_id, "alice", Code(key)).has_value());
  clock_.Advance(seconds(30));
  auto again = auth_->CompleteStepUp(ch->challenge_id, "alice", Code(key));
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().message, StartsWith("step_up_unknown:"));
}

TEST_F(LocalAuthTest, ExternalStepUpForOidcPrincipal) {
  const std::string principal = "oidc:https://idp.example.com#user-1";
  auto ch = auth_->BeginStepUp(principal, "req");
  auto via_totp = auth_->CompleteStepUp(ch->challenge_id, principal, "123456");
  ASSERT_FALSE(via_totp.has_value());
  EXPECT_EQ(via_totp.error().code, core::ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(auth_->SatisfyStepUpExternally(ch->challenge_id, principal).has_value());
  EXPECT_TRUE(*auth_->ConsumeStepUp(principal, "req"));
}

TEST_F(LocalAuthTest, PruneRemovesExpiredRows) {
  const std::string key = Enrolled("alice");
  ASSERT_NE(Ok(Login("alice", kPassword, Code(key))), nullptr);
  ASSERT_TRUE(auth_->BeginStepUp("alice", "req").has_value());
  Refusal(Login("alice", "wrong password here", ""));
  clock_.Advance(std::chrono::hours(13));
  auto pruned = auth_->Prune();
  ASSERT_TRUE(pruned.has_value()) << pruned.error();
  EXPECT_EQ(*pruned, 1 + 1 + 2);  // session, step-up, user + ip failure
}

// ---- concurrency

TEST_F(LocalAuthTest, ConcurrentLoginsWithOneCodeExactlyOneSucceeds) {
  const std::string key = Enrolled("alice");
  const std::string code = Code(key);
  constexpr int kThreads = 4;
  std::atomic<int> sessions{0};
  std::atomic<int> reused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto out = auth_->Login("alice", core::Secret(kPassword), code, "10.0.0.1");
      if (!out.has_value()) {
        ++errors;
      } else if (std::holds_alternative<Session>(*out)) {
        ++sessions;
      } else if (std::get<LoginRefused>(*out).reason == LoginRefusal::kTotpReused) {
        ++reused;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(sessions.load(), 1);
  EXPECT_EQ(reused.load(), kThreads - 1);
}

// ---- replay guard on its own

TEST_F(LocalAuthTest, StoreTotpReplayGuardRefusesReplays) {
  StoreTotpReplayGuard guard(*store_, clock_);
  ASSERT_TRUE(guard.MarkUsed("carol", 10).has_value());
  auto again = guard.MarkUsed("carol", 10);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_THAT(again.error().message, StartsWith("totp_replayed:"));
}

}  // namespace
}  // namespace opsgate::identity::local
