#include "opsgate/store/sqlite/sqlite_identity_store.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
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

class SqliteIdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::Open(":memory:");
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
    ids_ = std::make_unique<SqliteIdentityStore>(*store_);
  }

  PendingLogin Pending(char key, int64_t created, int64_t ttl = 600) {
    PendingLogin p;
    p.state_hash = Hash(key);
    p.state = core::Secret("state-" + std::string(1, key));
    p.nonce = core::Secret("nonce");
    p.code_verifier = core::Secret("verifier");
    p.issuer = "https://idp.example.com";
    p.redirect_uri = "https://opsgate.example.com/auth/callback";
    p.max_age_seconds = 300;
    p.acr_values = {"urn:a", "urn:b"};
    p.prompt = "login";
    p.context = R"({"platform":"slack"})";
    p.created_at = At(created);
    p.expires_at = At(created + ttl);
    return p;
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteIdentityStore> ids_;
};

TEST_F(SqliteIdentityStoreTest, SchemaHasMigrationFive) {
  EXPECT_GE(store_->SchemaVersion(), 5);
}

TEST_F(SqliteIdentityStoreTest, LoginStateRoundTripsAndIsSingleUse) {
  ASSERT_TRUE(ids_->PutLoginState(Pending('a', 1000)).has_value());
  auto taken = ids_->TakeLoginState(Hash('a'), At(1001));
  ASSERT_TRUE(taken.has_value()) << taken.error();
  ASSERT_TRUE(taken->has_value());
  const PendingLogin& p = **taken;
  EXPECT_EQ(p.state.Reveal(), "state-a");
  EXPECT_EQ(p.nonce.Reveal(), "nonce");
  EXPECT_EQ(p.code_verifier.Reveal(), "verifier");
  EXPECT_EQ(p.issuer, "https://idp.example.com");
  EXPECT_EQ(p.max_age_seconds, 300);
  EXPECT_EQ(p.acr_values, (std::vector<std::string>{"urn:a", "urn:b"}));
  EXPECT_EQ(p.prompt, "login");
  EXPECT_EQ(p.context, R"({"platform":"slack"})");
  EXPECT_EQ(p.created_at, At(1000));
  EXPECT_EQ(p.expires_at, At(1600));

  auto again = ids_->TakeLoginState(Hash('a'), At(1002));
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value()) << "a state must be usable once";
}

TEST_F(SqliteIdentityStoreTest, ExpiredLoginStateIsReturnedOnceForAPreciseRefusal) {
  ASSERT_TRUE(ids_->PutLoginState(Pending('a', 1000, 600)).has_value());
  auto taken = ids_->TakeLoginState(Hash('a'), At(5000));
  ASSERT_TRUE(taken.has_value());
  ASSERT_TRUE(taken->has_value());
  EXPECT_LT((*taken)->expires_at, At(5000));
  EXPECT_FALSE(ids_->TakeLoginState(Hash('a'), At(5000))->has_value());
}

TEST_F(SqliteIdentityStoreTest, PruneLoginStatesDeletesOnlyExpired) {
  ASSERT_TRUE(ids_->PutLoginState(Pending('a', 1000, 10)).has_value());
  ASSERT_TRUE(ids_->PutLoginState(Pending('b', 1000, 600)).has_value());
  EXPECT_EQ(ids_->PruneLoginStates(At(1100)), 1);
  EXPECT_FALSE(ids_->TakeLoginState(Hash('a'), At(1100))->has_value());
  EXPECT_TRUE(ids_->TakeLoginState(Hash('b'), At(1100))->has_value());
}

TEST_F(SqliteIdentityStoreTest, DuplicateStateHashIsAlreadyExists) {
  ASSERT_TRUE(ids_->PutLoginState(Pending('a', 1000)).has_value());
  auto dup = ids_->PutLoginState(Pending('a', 1000));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, core::ErrorCode::kAlreadyExists);
}

TEST_F(SqliteIdentityStoreTest, HashesMustBe32Bytes) {
  auto p = Pending('a', 1000);
  p.state_hash = "short";
  EXPECT_EQ(ids_->PutLoginState(p).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ids_->TakeLinkToken("short", At(1)).error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(SqliteIdentityStoreTest, ConcurrentTakesGiveTheLoginToExactlyOne) {
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(ids_->PutLoginState(Pending(static_cast<char>('A' + round), 1000)).has_value());
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        auto r = ids_->TakeLoginState(Hash(static_cast<char>('A' + round)), At(1001));
        if (r && r->has_value()) {
          ++winners;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    EXPECT_EQ(winners.load(), 1);
  }
}

TEST_F(SqliteIdentityStoreTest, LinkTokenIsSingleUseAndExpires) {
  const PlatformAccount acct{"slack", "T1", "U1"};
  ASSERT_TRUE(ids_->PutLinkToken({Hash('t'), acct, At(1000), At(1600)}).has_value());
  ASSERT_TRUE(ids_->PutLinkToken({Hash('u'), acct, At(1000), At(1600)}).has_value());
  auto t = ids_->TakeLinkToken(Hash('t'), At(1100));
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->account, acct);
  EXPECT_FALSE(ids_->TakeLinkToken(Hash('t'), At(1101))->has_value()) << "replayed token";
  EXPECT_FALSE(ids_->TakeLinkToken(Hash('u'), At(1600))->has_value()) << "expired token";
  EXPECT_FALSE(ids_->TakeLinkToken(Hash('u'), At(1000))->has_value()) << "deleted on expiry";
}

TEST_F(SqliteIdentityStoreTest, LinkLookupUnlink) {
  const PlatformAccount acct{"slack", "T1", "U1"};
  auto none = ids_->Lookup(acct, At(1000));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->state, LinkLookup::State::kNotLinked);

  VerifiedPrincipal who{"https://idp", "sub-1", "a@example.com", {"ops", "s\"re\\x"}};
  auto p = ids_->Link(acct, who, At(1000), seconds(3600));
  ASSERT_TRUE(p.has_value()) << p.error();
  EXPECT_EQ(p->subject, "sub-1");
  EXPECT_EQ(p->groups, who.groups);
  EXPECT_EQ(p->expires_at, At(4600));

  auto found = ids_->Lookup(acct, At(2000));
  ASSERT_TRUE(found.has_value()) << found.error();
  ASSERT_EQ(found->state, LinkLookup::State::kLinked);
  EXPECT_EQ(found->principal->email, "a@example.com");
  EXPECT_EQ(found->principal->groups, who.groups);
  EXPECT_EQ(found->principal->linked_at, At(1000));

  EXPECT_EQ(ids_->Lookup(acct, At(4600))->state, LinkLookup::State::kExpired);

  // Re-verification extends it, keeps linked_at, refreshes groups.
  who.groups = {"ops"};
  auto re = ids_->Reverify(who, At(5000), seconds(3600));
  ASSERT_TRUE(re.has_value()) << re.error();
  auto after = ids_->Lookup(acct, At(5001));
  ASSERT_EQ(after->state, LinkLookup::State::kLinked);
  EXPECT_EQ(after->principal->groups, std::vector<std::string>{"ops"});
  EXPECT_EQ(after->principal->linked_at, At(1000));
  EXPECT_EQ(after->principal->last_verified_at, At(5000));

  EXPECT_EQ(ids_->Unlink(acct), true);
  EXPECT_EQ(ids_->Unlink(acct), false);
  EXPECT_EQ(ids_->Lookup(acct, At(5002))->state, LinkLookup::State::kNotLinked);
}

TEST_F(SqliteIdentityStoreTest, ReverifyUnknownPrincipalIsNotFound) {
  auto r = ids_->Reverify({"https://idp", "nobody", std::nullopt, {}}, At(1), seconds(60));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
}

TEST_F(SqliteIdentityStoreTest, RevokeRemovesPrincipalAndAllLinks) {
  VerifiedPrincipal who{"https://idp", "sub-1", std::nullopt, {}};
  ASSERT_TRUE(ids_->Link({"slack", "T1", "U1"}, who, At(1000), seconds(3600)).has_value());
  ASSERT_TRUE(ids_->Link({"teams", "tenant", "U9"}, who, At(1000), seconds(3600)).has_value());
  auto links = ids_->LinksOf("https://idp", "sub-1");
  ASSERT_TRUE(links.has_value());
  EXPECT_EQ(links->size(), 2u);
  EXPECT_EQ(ids_->Revoke("https://idp", "sub-1"), 2);
  EXPECT_EQ(ids_->Lookup({"slack", "T1", "U1"}, At(1001))->state,
            LinkLookup::State::kNotLinked);
  EXPECT_EQ(ids_->Revoke("https://idp", "sub-1").error().code, core::ErrorCode::kNotFound);
}

TEST_F(SqliteIdentityStoreTest, RelinkMovesTheAccountToTheNewPrincipal) {
  const PlatformAccount acct{"slack", "T1", "U1"};
  ASSERT_TRUE(ids_->Link(acct, {"https://idp", "old", std::nullopt, {}}, At(1), minutes(5)));
  ASSERT_TRUE(ids_->Link(acct, {"https://idp", "new", std::nullopt, {}}, At(2), minutes(5)));
  EXPECT_EQ(ids_->Lookup(acct, At(3))->principal->subject, "new");
  EXPECT_TRUE(ids_->LinksOf("https://idp", "old")->empty());
}

TEST_F(SqliteIdentityStoreTest, SchemaHasMigrationEight) {
  EXPECT_GE(store_->SchemaVersion(), 8);
}

TEST_F(SqliteIdentityStoreTest, MfaTimeIsRecordedAndKeptByLaterLoginsWithoutMfa) {
  const PlatformAccount acct{"slack", "T1", "U1"};
  VerifiedPrincipal who{"https://idp", "sub-1", std::nullopt, {}};
  // A login without MFA: none recorded.
  auto p = ids_->Link(acct, who, At(1000), seconds(3600));
  ASSERT_TRUE(p.has_value()) << p.error();
  EXPECT_FALSE(p->mfa_at.has_value());
  EXPECT_FALSE(ids_->Lookup(acct, At(1001))->principal->mfa_at.has_value());

  // A login that showed MFA (auth_time 1990).
  who.mfa_at = At(1990);
  p = ids_->Link(acct, who, At(2000), seconds(3600));
  ASSERT_TRUE(p.has_value()) << p.error();
  EXPECT_EQ(p->mfa_at, At(1990));
  EXPECT_EQ(ids_->Lookup(acct, At(2001))->principal->mfa_at, At(1990));

  // A later login without MFA refreshes the link but keeps the last MFA time.
  who.mfa_at.reset();
  p = ids_->Link(acct, who, At(3000), seconds(3600));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->last_verified_at, At(3000));
  EXPECT_EQ(p->mfa_at, At(1990));

  // An MFA time older than the stored one never moves it backwards.
  who.mfa_at = At(1500);
  p = ids_->Link(acct, who, At(4000), seconds(3600));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->mfa_at, At(1990));

  // Reverify follows the same rules: newer MFA moves it, none keeps it.
  who.mfa_at = At(4990);
  auto re = ids_->Reverify(who, At(5000), seconds(3600));
  ASSERT_TRUE(re.has_value()) << re.error();
  EXPECT_EQ(re->mfa_at, At(4990));
  who.mfa_at.reset();
  re = ids_->Reverify(who, At(6000), seconds(3600));
  ASSERT_TRUE(re.has_value());
  EXPECT_EQ(re->mfa_at, At(4990));
  EXPECT_EQ(ids_->Lookup(acct, At(6001))->principal->mfa_at, At(4990));
}

TEST_F(SqliteIdentityStoreTest, MfaTimeBelongsToThePrincipalNotTheAccount) {
  // Two chat accounts of one principal: an MFA login through either counts for both.
  const PlatformAccount slack{"slack", "T1", "U1"};
  const PlatformAccount teams{"teams", "tenant", "U9"};
  VerifiedPrincipal who{"https://idp", "sub-1", std::nullopt, {}};
  ASSERT_TRUE(ids_->Link(slack, who, At(1000), seconds(3600)).has_value());
  who.mfa_at = At(1100);
  ASSERT_TRUE(ids_->Link(teams, who, At(1100), seconds(3600)).has_value());
  EXPECT_EQ(ids_->Lookup(slack, At(1200))->principal->mfa_at, At(1100));
  // Another principal is unaffected.
  const PlatformAccount other{"slack", "T1", "U2"};
  ASSERT_TRUE(ids_->Link(other, {"https://idp", "sub-2", std::nullopt, {}}, At(1200),
                         seconds(3600))
                  .has_value());
  EXPECT_FALSE(ids_->Lookup(other, At(1300))->principal->mfa_at.has_value());
}

// Migration 8 adds identity_principals.mfa_at_ms to a version 7 database and keeps its rows.
TEST(SqliteIdentityStoreMigration, VersionSevenPrincipalsAndLinksSurviveMigrationEight) {
  namespace fs = std::filesystem;
  std::string templ = (fs::temp_directory_path() / "opsgate-identity-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path dir = templ;
  const std::string path = (dir / "opsgate.db").string();
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.has_value()) << s.error();
    // Back to version 7, with a principal and a link as version 7 wrote them.
    const std::string at = (*s)->WithDatabase([](sqlite_internal::Database& db) -> std::string {
      auto done = db.Exec(
          "ALTER TABLE identity_principals DROP COLUMN mfa_at_ms; DROP TABLE break_glass; "
          "DROP TABLE dialogs; DROP TABLE nlu_candidates; "
          "DELETE FROM schema_migrations WHERE version >= 8; "
          "INSERT INTO identity_principals (issuer, subject, email, groups_json, linked_at, "
          "last_verified_at, expires_at) VALUES ('https://idp', 'sub-7', 'seven@example.com', "
          "'[\"ops\"]', 1000000, 2000000, 9000000); "
          "INSERT INTO identity_platform_links (platform, workspace, user_id, principal_id, "
          "linked_at) SELECT 'slack', 'T1', 'U7', id, 1000000 FROM identity_principals "
          "WHERE subject = 'sub-7';");
      if (!done) {
        return "exec: " + done.error().message;
      }
      auto row = db.QueryRow("SELECT max(version) FROM schema_migrations");
      return row && *row ? std::to_string((*row)->ColumnInt64(0)) : std::string("none");
    });
    ASSERT_EQ(at, "7");
  }
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.has_value()) << s.error();
    EXPECT_EQ((*s)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
    EXPECT_GE((*s)->SchemaVersion(), 8);
    SqliteIdentityStore ids(**s);
    const PlatformAccount acct{"slack", "T1", "U7"};
    auto found = ids.Lookup(acct, At(3000));
    ASSERT_TRUE(found.has_value()) << found.error();
    ASSERT_EQ(found->state, LinkLookup::State::kLinked);
    EXPECT_EQ(found->principal->subject, "sub-7");
    EXPECT_EQ(found->principal->email, "seven@example.com");
    EXPECT_EQ(found->principal->groups, std::vector<std::string>{"ops"});
    EXPECT_EQ(found->principal->linked_at, At(1000));
    EXPECT_EQ(found->principal->last_verified_at, At(2000));
    EXPECT_EQ(found->principal->expires_at, At(9000));
    EXPECT_FALSE(found->principal->mfa_at.has_value());
    // The new column works on the old row.
    VerifiedPrincipal who{"https://idp", "sub-7", "seven@example.com", {"ops"}};
    who.mfa_at = At(3500);
    auto p = ids.Link(acct, who, At(3600), seconds(3600));
    ASSERT_TRUE(p.has_value()) << p.error();
    EXPECT_EQ(p->mfa_at, At(3500));
    EXPECT_EQ(p->linked_at, At(1000));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_F(SqliteIdentityStoreTest, EmptyAccountFieldsAreRefused) {
  auto r = ids_->Lookup({"slack", "", "U1"}, At(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::store
