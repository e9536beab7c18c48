#include "opsgate/store/sqlite/sqlite_local_auth_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace opsgate::store {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

core::Clock::WallTime At(int64_t unix_seconds) {
  return core::Clock::WallTime(seconds(unix_seconds));
}

std::string Hash(char c) { return std::string(32, c); }
std::string ReqHash(char c) { return std::string(64, c); }

class SqliteLocalAuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::Open(":memory:");
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
    auth_ = std::make_unique<SqliteLocalAuthStore>(*store_);
  }

  static LocalAccount Account(std::string name, bool confirmed = true) {
    LocalAccount a;
    a.username = std::move(name);
    a.password_hash = "$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA";
    a.totp_secret_sealed = std::string("\x01\x02sealed\x00" "bytes", 14);  // NUL inside
    a.totp_confirmed = confirmed;
    a.created_at = At(1000);
    a.password_changed_at = At(1000);
    return a;
  }

  static LocalSession Session(char key, std::string user = "alice") {
    LocalSession s;
    s.token_hash = Hash(key);
    s.username = std::move(user);
    s.csrf_token = core::Secret("csrf-" + std::string(1, key));
    s.created_at = At(1000);
    s.last_seen_at = At(1000);
    s.idle_timeout = minutes(30);
    s.absolute_expires_at = At(1000 + 12 * 3600);
    return s;
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteLocalAuthStore> auth_;
};

TEST_F(SqliteLocalAuthStoreTest, SchemaHasMigrationSix) { EXPECT_GE(store_->SchemaVersion(), 6); }

TEST_F(SqliteLocalAuthStoreTest, AccountRoundTripsWithBinarySealedSecret) {
  ASSERT_TRUE(auth_->CreateAccount(Account("alice")).has_value());
  auto got = auth_->GetAccount("alice");
  ASSERT_TRUE(got.has_value()) << got.error();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->totp_secret_sealed, Account("alice").totp_secret_sealed);
  EXPECT_TRUE((*got)->totp_confirmed);
  EXPECT_FALSE((*got)->is_admin);
  EXPECT_EQ((*got)->created_at, At(1000));

  auto dup = auth_->CreateAccount(Account("alice"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, core::ErrorCode::kAlreadyExists);

  auto none = auth_->GetAccount("bob");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqliteLocalAuthStoreTest, AccountUpdatesReportUnknownAccounts) {
  EXPECT_EQ(auth_->SetTotpConfirmed("nobody").error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(auth_->SetDisabled("nobody", true).error().code, core::ErrorCode::kNotFound);
  ASSERT_TRUE(auth_->CreateAccount(Account("alice")).has_value());
  ASSERT_TRUE(auth_->SetTotpSecret("alice", "new-sealed").has_value());
  auto got = auth_->GetAccount("alice");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_FALSE((*got)->totp_confirmed) << "a new secret must be confirmed again";
  ASSERT_TRUE(auth_->SetPasswordHash("alice", "$scrypt$x", At(2000)).has_value());
  got = auth_->GetAccount("alice");
  EXPECT_EQ((*got)->password_hash, "$scrypt$x");
  EXPECT_EQ((*got)->password_changed_at, At(2000));
}

TEST_F(SqliteLocalAuthStoreTest, HasUsableAdminNeedsEnabledConfirmedAdmin) {
  EXPECT_FALSE(*auth_->HasUsableAdmin());
  LocalAccount admin = Account("root", /*confirmed=*/false);
  admin.is_admin = true;
  ASSERT_TRUE(auth_->CreateAccount(admin).has_value());
  EXPECT_FALSE(*auth_->HasUsableAdmin()) << "unconfirmed second factor";
  ASSERT_TRUE(auth_->SetTotpConfirmed("root").has_value());
  EXPECT_TRUE(*auth_->HasUsableAdmin());
  ASSERT_TRUE(auth_->SetDisabled("root", true).has_value());
  EXPECT_FALSE(*auth_->HasUsableAdmin());
}

TEST_F(SqliteLocalAuthStoreTest, EnrolmentTokenIsSingleUseAndGrantsItsAdminFlag) {
  ASSERT_TRUE(auth_->PutEnrolmentToken({Hash('t'), "first-admin", true, At(1000), At(2000)})
                  .has_value());
  auto a = auth_->EnrolAccount(Hash('t'), Account("root", false), At(1500));
  ASSERT_TRUE(a.has_value()) << a.error();
  EXPECT_TRUE(a->is_admin);
  auto again = auth_->EnrolAccount(Hash('t'), Account("other", false), At(1501));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::kNotFound);
}

TEST_F(SqliteLocalAuthStoreTest, ExpiredEnrolmentTokenIsRefusedAndDeleted) {
  ASSERT_TRUE(
      auth_->PutEnrolmentToken({Hash('t'), "invite", false, At(1000), At(2000)}).has_value());
  auto a = auth_->EnrolAccount(Hash('t'), Account("bob", false), At(2000));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::ErrorCode::kNotFound);
  EXPECT_FALSE(auth_->GetAccount("bob")->has_value());
}

TEST_F(SqliteLocalAuthStoreTest, EnrolmentTokenSurvivesATakenUsername) {
  ASSERT_TRUE(auth_->CreateAccount(Account("alice", /*confirmed=*/true)).has_value());
  ASSERT_TRUE(
      auth_->PutEnrolmentToken({Hash('t'), "invite", false, At(1000), At(2000)}).has_value());
  auto a = auth_->EnrolAccount(Hash('t'), Account("alice", false), At(1500));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::ErrorCode::kAlreadyExists);
  auto b = auth_->EnrolAccount(Hash('t'), Account("bob", false), At(1500));
  EXPECT_TRUE(b.has_value()) << "the token must still work after a rolled-back attempt";
}

TEST_F(SqliteLocalAuthStoreTest, EnrolmentReplacesAnAbandonedUnconfirmedAccount) {
  ASSERT_TRUE(auth_->CreateAccount(Account("alice", /*confirmed=*/false)).has_value());
  ASSERT_TRUE(
      auth_->PutEnrolmentToken({Hash('t'), "invite", false, At(1000), At(2000)}).has_value());
  LocalAccount fresh = Account("alice", false);
  fresh.password_hash = "$scrypt$fresh";
  ASSERT_TRUE(auth_->EnrolAccount(Hash('t'), fresh, At(1500)).has_value());
  EXPECT_EQ((*auth_->GetAccount("alice"))->password_hash, "$scrypt$fresh");
}

TEST_F(SqliteLocalAuthStoreTest, SessionRoundTripsAndTouchIsRateLimited) {
  ASSERT_TRUE(auth_->CreateAccount(Account("alice")).has_value());
  LocalSession s = Session('s');
  s.mfa_verified_at = At(1000);
  ASSERT_TRUE(auth_->PutSession(s).has_value());
  auto got = auth_->FindSession(Hash('s'));
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->username, "alice");
  EXPECT_EQ((*got)->csrf_token.Reveal(), "csrf-s");
  EXPECT_EQ((*got)->idle_timeout, minutes(30));
  EXPECT_EQ((*got)->mfa_verified_at, At(1000));

  EXPECT_FALSE(*auth_->TouchSession(Hash('s'), At(1030), seconds(60)));
  EXPECT_TRUE(*auth_->TouchSession(Hash('s'), At(1060), seconds(60)));
  EXPECT_EQ((*auth_->FindSession(Hash('s')))->last_seen_at, At(1060));
}

TEST_F(SqliteLocalAuthStoreTest, SessionNeedsExactlyOnePrincipal) {
  LocalSession both = Session('s');
  both.oidc_issuer = "https://idp";
  both.oidc_subject = "sub";
  EXPECT_EQ(auth_->PutSession(both).error().code, core::ErrorCode::kInvalidArgument);
  LocalSession oidc = Session('o', "");
  oidc.oidc_issuer = "https://idp";
  oidc.oidc_subject = "sub";
  ASSERT_TRUE(auth_->PutSession(oidc).has_value());
  EXPECT_EQ((*auth_->FindSession(Hash('o')))->oidc_subject, "sub");
}

TEST_F(SqliteLocalAuthStoreTest, SessionsAreDeletedOnePerUserAndPruned) {
  ASSERT_TRUE(auth_->CreateAccount(Account("alice")).has_value());
  ASSERT_TRUE(auth_->CreateAccount(Account("bob")).has_value());
  ASSERT_TRUE(auth_->PutSession(Session('a')).has_value());
  ASSERT_TRUE(auth_->PutSession(Session('b')).has_value());
  ASSERT_TRUE(auth_->PutSession(Session('c', "bob")).has_value());
  EXPECT_TRUE(*auth_->DeleteSession(Hash('a')));
  EXPECT_FALSE(*auth_->DeleteSession(Hash('a')));
  EXPECT_EQ(*auth_->DeleteSessionsOf("alice"), 1);
  EXPECT_EQ(*auth_->PruneSessions(At(1000 + 29 * 60)), 0);
  EXPECT_EQ(*auth_->PruneSessions(At(1000 + 30 * 60)), 1) << "idle expiry";
  ASSERT_TRUE(auth_->PutSession(Session('d', "bob")).has_value());
  EXPECT_TRUE(*auth_->DeleteAccount("bob"));
  EXPECT_FALSE(auth_->FindSession(Hash('d'))->has_value()) << "sessions go with the account";
}

TEST_F(SqliteLocalAuthStoreTest, TotpStepsAreUsedOnceAndMonotonically) {
  EXPECT_TRUE(*auth_->MarkTotpStepUsed("alice", 100, At(3000), At(2000)));
  EXPECT_FALSE(*auth_->MarkTotpStepUsed("alice", 100, At(3001), At(2001))) << "replay";
  EXPECT_FALSE(*auth_->MarkTotpStepUsed("alice", 99, At(3001), At(2001))) << "older step";
  EXPECT_TRUE(*auth_->MarkTotpStepUsed("bob", 100, At(3001), At(2001))) << "per account";
  EXPECT_TRUE(*auth_->MarkTotpStepUsed("alice", 101, At(3030), At(2030)));
  // Once pruned, an old row no longer blocks (the window has long passed by then).
  EXPECT_TRUE(*auth_->MarkTotpStepUsed("alice", 50, At(9000), At(8000)));
}

TEST_F(SqliteLocalAuthStoreTest, ConcurrentTotpStepExactlyOneWins) {
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = auth_->MarkTotpStepUsed("alice", 7, At(3000), At(2000));
      if (r.has_value() && *r) {
        ++accepted;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(accepted.load(), 1);
}

TEST_F(SqliteLocalAuthStoreTest, LoginFailuresCountInsideTheWindow) {
  ASSERT_TRUE(auth_->RecordLoginFailure("user:alice", At(1000)).has_value());
  ASSERT_TRUE(auth_->RecordLoginFailure("user:alice", At(1100)).has_value());
  ASSERT_TRUE(auth_->RecordLoginFailure("ip:10.0.0.1", At(1100)).has_value());
  auto stats = auth_->LoginFailures("user:alice", At(900));
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->count, 2);
  EXPECT_EQ(stats->oldest, At(1000));
  EXPECT_EQ(stats->newest, At(1100));
  EXPECT_EQ(auth_->LoginFailures("user:alice", At(1050))->count, 1);
  ASSERT_TRUE(auth_->ClearLoginFailures("user:alice").has_value());
  EXPECT_EQ(auth_->LoginFailures("user:alice", At(0))->count, 0);
  EXPECT_EQ(*auth_->PruneLoginFailures(At(2000)), 1);
}

TEST_F(SqliteLocalAuthStoreTest, StepUpIsSatisfiedOnceByItsPrincipalAndConsumedOnce) {
  ASSERT_TRUE(
      auth_->PutStepUp({Hash('c'), "alice", ReqHash('a'), At(1000), At(1300), {}}).has_value());
  EXPECT_FALSE(*auth_->SatisfyStepUp(Hash('c'), "mallory", At(1010)));
  EXPECT_FALSE(*auth_->HasSatisfiedStepUp("alice", ReqHash('a'), At(1010)));
  EXPECT_TRUE(*auth_->SatisfyStepUp(Hash('c'), "alice", At(1010)));
  EXPECT_FALSE(*auth_->SatisfyStepUp(Hash('c'), "alice", At(1011))) << "already satisfied";
  EXPECT_TRUE(*auth_->HasSatisfiedStepUp("alice", ReqHash('a'), At(1020)));
  EXPECT_FALSE(*auth_->HasSatisfiedStepUp("alice", ReqHash('b'), At(1020)));
  EXPECT_FALSE(*auth_->HasSatisfiedStepUp("alice", ReqHash('a'), At(1300))) << "expired";
  EXPECT_TRUE(*auth_->ConsumeStepUp("alice", ReqHash('a'), At(1020)));
  EXPECT_FALSE(*auth_->ConsumeStepUp("alice", ReqHash('a'), At(1021)));
  EXPECT_FALSE(auth_->FindStepUp(Hash('c'))->has_value());
}

TEST_F(SqliteLocalAuthStoreTest, ExpiredStepUpCannotBeSatisfiedAndIsPruned) {
  ASSERT_TRUE(
      auth_->PutStepUp({Hash('c'), "alice", ReqHash('a'), At(1000), At(1300), {}}).has_value());
  EXPECT_FALSE(*auth_->SatisfyStepUp(Hash('c'), "alice", At(1300)));
  EXPECT_EQ(*auth_->PruneStepUps(At(1300)), 1);
}

TEST_F(SqliteLocalAuthStoreTest, RejectsMalformedKeys) {
  EXPECT_EQ(auth_->FindSession("short").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(auth_->PutStepUp({Hash('c'), "alice", "abc", At(0), At(1), {}}).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(auth_->GetAccount(std::string(65, 'a')).error().code,
            core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::store
