#include "opsgate/store/sqlite/sqlite_policy_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace opsgate::store {
namespace {

using core::ErrorCode;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

core::Clock::WallTime At(int64_t unix_seconds) {
  return core::Clock::WallTime(seconds(unix_seconds));
}

std::string Hash(char c) { return std::string(32, c); }

ApprovalRequest Request(std::string id, int64_t created = 1000, int64_t expires = 2000) {
  ApprovalRequest r;
  r.id = std::move(id);
  r.action_hash = Hash('h');
  r.requester = "https://idp.example|alice";
  r.needed = 2;
  r.payload = std::string("{\"intent\":\"restart\"}\0tail", 25);  // NUL inside
  r.created_at = At(created);
  r.expires_at = At(expires);
  return r;
}

ApprovalVote Vote(std::string id, std::string approver, int64_t at, bool approve = true) {
  ApprovalVote v;
  v.request_id = std::move(id);
  v.approver = std::move(approver);
  v.approve = approve;
  v.detail = R"({"groups":["ops"],"mfa_at":123})";
  v.at = At(at);
  return v;
}

// A fresh directory under $TMPDIR, removed at the end of the test; stores opened on a
// file in it.
class SqlitePolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "opsgate-policy-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    Reopen();
  }
  void TearDown() override {
    rates_.reset();
    approvals_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string DbPath() const { return (dir_ / "opsgate.db").string(); }

  void Reopen() {
    rates_.reset();
    approvals_.reset();
    store_.reset();
    auto s = SqliteStore::Open(DbPath());
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
    rates_ = std::make_unique<SqliteRateEventStore>(*store_);
    approvals_ = std::make_unique<SqliteApprovalStore>(*store_);
  }

  // Runs `sql` on a separate raw connection (the store must be closed or idle).
  static void RawExec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err != nullptr ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  void ExpectCreateRejected(const ApprovalRequest& r, std::string_view field) {
    auto s = approvals_->Create(r);
    ASSERT_FALSE(s.has_value()) << field;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << field;
    EXPECT_NE(s.error().message.find(field), std::string::npos) << s.error().message;
  }

  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteRateEventStore> rates_;
  std::unique_ptr<SqliteApprovalStore> approvals_;
};

TEST_F(SqlitePolicyStoreTest, SchemaHasMigrationSeven) {
  EXPECT_GE(SqliteStore::LatestSchemaVersion(), 7);
  EXPECT_EQ(store_->SchemaVersion(), SqliteStore::LatestSchemaVersion());
}

TEST(ApprovalStateNameTest, NamesEveryState) {
  EXPECT_EQ(ApprovalStateName(ApprovalState::kPending), "pending");
  EXPECT_EQ(ApprovalStateName(ApprovalState::kApproved), "approved");
  EXPECT_EQ(ApprovalStateName(ApprovalState::kDenied), "denied");
  EXPECT_EQ(ApprovalStateName(ApprovalState::kExpired), "expired");
  EXPECT_EQ(ApprovalStateName(ApprovalState::kCancelled), "cancelled");
}

// ---- approvals

TEST_F(SqlitePolicyStoreTest, CreateThenFindRoundTrips) {
  ApprovalRequest r = Request("K7Q3XZ");
  r.created_at = At(1000) + milliseconds(250);
  r.updated_at = At(5);  // ignored: updated_at starts as created_at
  ASSERT_TRUE(approvals_->Create(r).has_value());

  auto got = approvals_->Find("K7Q3XZ");
  ASSERT_TRUE(got.has_value()) << got.error();
  ASSERT_TRUE(got->has_value());
  const ApprovalRequest& f = **got;
  EXPECT_EQ(f.id, "K7Q3XZ");
  EXPECT_EQ(f.action_hash, r.action_hash);
  EXPECT_EQ(f.requester, r.requester);
  EXPECT_EQ(f.needed, 2u);
  EXPECT_EQ(f.payload, r.payload);
  EXPECT_EQ(f.created_at, r.created_at);
  EXPECT_EQ(f.expires_at, r.expires_at);
  EXPECT_EQ(f.state, ApprovalState::kPending);
  EXPECT_EQ(f.updated_at, r.created_at);

  auto none = approvals_->Find("NOPE");
  ASSERT_TRUE(none.has_value()) << none.error();
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqlitePolicyStoreTest, CreateRefusesTakenId) {
  ASSERT_TRUE(approvals_->Create(Request("A1")).has_value());
  auto dup = approvals_->Create(Request("A1", 3000, 4000));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(dup.error().message.find("A1"), std::string::npos) << dup.error().message;
}

TEST_F(SqlitePolicyStoreTest, CreateValidatesEveryField) {
  ApprovalRequest r = Request("");
  ExpectCreateRejected(r, "approval id");
  r.id = std::string(33, 'A');
  ExpectCreateRejected(r, "approval id");
  r.id = "k7q3xz";
  ExpectCreateRejected(r, "approval id");
  r.id = "K7-Q3";
  ExpectCreateRejected(r, "approval id");
  // The longest id is fine (checked below with the others restored).
  const std::string longest(32, 'Z');

  r = Request("H1");
  r.action_hash = std::string(31, 'h');
  ExpectCreateRejected(r, "action_hash");
  r.action_hash = std::string(33, 'h');
  ExpectCreateRejected(r, "action_hash");

  r = Request("R1");
  r.requester = "";
  ExpectCreateRejected(r, "requester");
  r.requester = std::string(1025, 'r');
  ExpectCreateRejected(r, "requester");

  r = Request("N1");
  r.needed = 0;
  ExpectCreateRejected(r, "needed");
  r.needed = 101;
  ExpectCreateRejected(r, "needed");

  r = Request("P1");
  r.payload = std::string(64 * 1024 + 1, 'p');
  ExpectCreateRejected(r, "payload");

  r = Request("T1", 1000, 1000);
  ExpectCreateRejected(r, "expires_at");
  r = Request("T2", 1000, 999);
  ExpectCreateRejected(r, "expires_at");

  for (ApprovalState s : {ApprovalState::kApproved, ApprovalState::kDenied, ApprovalState::kExpired,
                          ApprovalState::kCancelled}) {
    r = Request("S1");
    r.state = s;
    ExpectCreateRejected(r, "state");
  }

  // Nothing of the above was stored; the limits themselves are accepted.
  auto none = approvals_->ListPending(At(0), 100);
  ASSERT_TRUE(none.has_value()) << none.error();
  EXPECT_TRUE(none->empty());
  r = Request(longest);
  r.requester = std::string(1024, 'r');
  r.needed = 100;
  r.payload = std::string(64 * 1024, 'p');
  EXPECT_TRUE(approvals_->Create(r).has_value());
  r = Request("EMPTYPAYLOAD");
  r.needed = 1;
  r.payload.clear();
  ASSERT_TRUE(approvals_->Create(r).has_value());
  auto found = approvals_->Find("EMPTYPAYLOAD");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->payload, "");
}

TEST_F(SqlitePolicyStoreTest, LookupsValidateIds) {
  EXPECT_EQ(approvals_->Find("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(approvals_->Find("lower").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(approvals_->Votes(std::string(33, 'A')).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(approvals_->Transition("", ApprovalState::kPending, ApprovalState::kApproved, At(1))
                .error()
                .code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SqlitePolicyStoreTest, AddVoteValidatesFields) {
  ASSERT_TRUE(approvals_->Create(Request("V1")).has_value());
  auto check = [&](const ApprovalVote& v, std::string_view field) {
    auto r = approvals_->AddVote(v);
    ASSERT_FALSE(r.has_value()) << field;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << field;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  check(Vote("", "bob", 1500), "request_id");
  check(Vote("v1", "bob", 1500), "request_id");
  check(Vote("V1", "", 1500), "approver");
  check(Vote("V1", std::string(1025, 'b'), 1500), "approver");
  ApprovalVote big = Vote("V1", "bob", 1500);
  big.detail = std::string(16 * 1024 + 1, 'd');
  check(big, "detail");

  big.detail = std::string(16 * 1024, 'd');
  big.approver = std::string(1024, 'b');
  auto ok = approvals_->AddVote(big);
  ASSERT_TRUE(ok.has_value()) << ok.error();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].detail, big.detail);
}

TEST_F(SqlitePolicyStoreTest, AddVoteReturnsAllVotesOldestFirst) {
  ASSERT_TRUE(approvals_->Create(Request("K7Q3XZ")).has_value());
  ASSERT_TRUE(approvals_->Create(Request("OTHER")).has_value());
  auto first = approvals_->AddVote(Vote("K7Q3XZ", "iss|carol", 1500));
  ASSERT_TRUE(first.has_value()) << first.error();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].approver, "iss|carol");
  EXPECT_TRUE((*first)[0].approve);
  EXPECT_EQ((*first)[0].at, At(1500));
  EXPECT_EQ((*first)[0].request_id, "K7Q3XZ");
  EXPECT_EQ((*first)[0].detail, Vote("", "", 0).detail);

  ASSERT_TRUE(approvals_->AddVote(Vote("OTHER", "iss|carol", 1200)).has_value());
  // Earlier time, added later: sorted by time. Same time: in insertion order.
  ASSERT_TRUE(approvals_->AddVote(Vote("K7Q3XZ", "iss|bob", 1400, false)).has_value());
  auto all = approvals_->AddVote(Vote("K7Q3XZ", "iss|zed", 1500));
  ASSERT_TRUE(all.has_value()) << all.error();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].approver, "iss|bob");
  EXPECT_FALSE((*all)[0].approve);
  EXPECT_EQ((*all)[1].approver, "iss|carol");
  EXPECT_EQ((*all)[2].approver, "iss|zed");

  auto listed = approvals_->Votes("K7Q3XZ");
  ASSERT_TRUE(listed.has_value()) << listed.error();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].approver, "iss|bob");
  EXPECT_EQ((*listed)[2].approver, "iss|zed");

  auto none = approvals_->Votes("MISSING");
  ASSERT_TRUE(none.has_value()) << none.error();
  EXPECT_TRUE(none->empty());
}

TEST_F(SqlitePolicyStoreTest, AddVoteRefusesSecondVoteOfSameApprover) {
  ASSERT_TRUE(approvals_->Create(Request("D1")).has_value());
  ASSERT_TRUE(approvals_->AddVote(Vote("D1", "iss|bob", 1100)).has_value());
  auto again = approvals_->AddVote(Vote("D1", "iss|bob", 1200, false));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto votes = approvals_->Votes("D1");
  ASSERT_TRUE(votes.has_value());
  ASSERT_EQ(votes->size(), 1u);
  EXPECT_TRUE((*votes)[0].approve);
}

TEST_F(SqlitePolicyStoreTest, AddVoteRefusesMissingRequest) {
  auto r = approvals_->AddVote(Vote("MISSING", "iss|bob", 1100));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("MISSING"), std::string::npos) << r.error().message;
}

TEST_F(SqlitePolicyStoreTest, AddVoteRefusesDecidedRequests) {
  const std::pair<const char*, ApprovalState> cases[] = {
      {"DENIED", ApprovalState::kDenied},
      {"APPROVED", ApprovalState::kApproved},
      {"EXPIRED", ApprovalState::kExpired},
      {"CANCELLED", ApprovalState::kCancelled},
  };
  for (const auto& [id, state] : cases) {
    ASSERT_TRUE(approvals_->Create(Request(id)).has_value());
    auto moved = approvals_->Transition(id, ApprovalState::kPending, state, At(1100));
    ASSERT_TRUE(moved.has_value() && *moved) << id;
    auto r = approvals_->AddVote(Vote(id, "iss|bob", 1200));
    ASSERT_FALSE(r.has_value()) << id;
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << id;
    EXPECT_EQ(r.error().message,
              "approval " + std::string(id) + " is " + std::string(ApprovalStateName(state)));
    auto votes = approvals_->Votes(id);
    ASSERT_TRUE(votes.has_value());
    EXPECT_TRUE(votes->empty()) << id;
  }
}

TEST_F(SqlitePolicyStoreTest, AddVoteRefusesAtAndAfterExpiry) {
  ASSERT_TRUE(approvals_->Create(Request("E1", 1000, 2000)).has_value());
  for (int64_t at : {2000, 2001}) {
    auto r = approvals_->AddVote(Vote("E1", "iss|bob", at));
    ASSERT_FALSE(r.has_value()) << at;
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
    // 2000 s after the epoch, in UTC.
    EXPECT_EQ(r.error().message, "approval E1 expired at 1970-01-01T00:33:20Z");
  }
  // A millisecond before the expiry is still in time.
  ApprovalVote v = Vote("E1", "iss|bob", 0);
  v.at = At(2000) - milliseconds(1);
  auto in_time = approvals_->AddVote(v);
  ASSERT_TRUE(in_time.has_value()) << in_time.error();
  EXPECT_EQ(in_time->size(), 1u);
}

TEST_F(SqlitePolicyStoreTest, TransitionIsCompareAndSet) {
  ASSERT_TRUE(approvals_->Create(Request("C1")).has_value());
  auto wrong =
      approvals_->Transition("C1", ApprovalState::kApproved, ApprovalState::kDenied, At(1100));
  ASSERT_TRUE(wrong.has_value()) << wrong.error();
  EXPECT_FALSE(*wrong);
  auto unchanged = approvals_->Find("C1");
  ASSERT_TRUE(unchanged.has_value() && unchanged->has_value());
  EXPECT_EQ((*unchanged)->state, ApprovalState::kPending);
  EXPECT_EQ((*unchanged)->updated_at, At(1000));

  auto moved =
      approvals_->Transition("C1", ApprovalState::kPending, ApprovalState::kApproved, At(1200));
  ASSERT_TRUE(moved.has_value()) << moved.error();
  EXPECT_TRUE(*moved);
  auto after = approvals_->Find("C1");
  ASSERT_TRUE(after.has_value() && after->has_value());
  EXPECT_EQ((*after)->state, ApprovalState::kApproved);
  EXPECT_EQ((*after)->updated_at, At(1200));

  auto again =
      approvals_->Transition("C1", ApprovalState::kPending, ApprovalState::kApproved, At(1300));
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);

  auto missing =
      approvals_->Transition("NOSUCH", ApprovalState::kPending, ApprovalState::kApproved, At(1300));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(SqlitePolicyStoreTest, ExactlyOneOfTwoRacingTransitionsWins) {
  // Each racer has its own connection to the file, like two replicas.
  auto other = SqliteStore::Open(DbPath());
  ASSERT_TRUE(other.has_value()) << other.error();
  SqliteApprovalStore other_approvals(**other);

  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(approvals_->Create(Request("R" + std::to_string(i))).has_value());
  }
  for (int i = 0; i < kRequests; ++i) {
    const std::string id = "R" + std::to_string(i);
    std::atomic<bool> go{false};
    std::atomic<int> wins{0};
    std::atomic<int> errors{0};
    auto race = [&](ApprovalStore& s) {
      while (!go.load()) {
        std::this_thread::yield();
      }
      auto r = s.Transition(id, ApprovalState::kPending, ApprovalState::kApproved, At(1500));
      if (!r) {
        errors.fetch_add(1);
      } else if (*r) {
        wins.fetch_add(1);
      }
    };
    std::thread a(race, std::ref(*approvals_));
    std::thread b(race, std::ref(other_approvals));
    std::thread c(race, std::ref(*approvals_));  // same connection as a
    go.store(true);
    a.join();
    b.join();
    c.join();
    EXPECT_EQ(errors.load(), 0) << id;
    EXPECT_EQ(wins.load(), 1) << id;
  }
}

TEST_F(SqlitePolicyStoreTest, ListPendingIsOldestFirstLimitedAndSkipsExpired) {
  ASSERT_TRUE(approvals_->Create(Request("NEWEST", 1300, 5000)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("OLDEST", 1000, 5000)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("MIDDLE", 1200, 5000)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("SHORT", 1100, 2000)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("DECIDED", 900, 5000)).has_value());
  ASSERT_TRUE(
      *approvals_->Transition("DECIDED", ApprovalState::kPending, ApprovalState::kDenied, At(950)));

  auto ids = [](const std::vector<ApprovalRequest>& v) {
    std::vector<std::string> out;
    for (const ApprovalRequest& r : v) {
      out.push_back(r.id);
    }
    return out;
  };
  auto before = approvals_->ListPending(At(1999), 10);
  ASSERT_TRUE(before.has_value()) << before.error();
  EXPECT_EQ(ids(*before), (std::vector<std::string>{"OLDEST", "SHORT", "MIDDLE", "NEWEST"}));

  // At its expiry SHORT is no longer listed, even before ExpireDue moves it.
  auto at_expiry = approvals_->ListPending(At(2000), 10);
  ASSERT_TRUE(at_expiry.has_value());
  EXPECT_EQ(ids(*at_expiry), (std::vector<std::string>{"OLDEST", "MIDDLE", "NEWEST"}));

  auto limited = approvals_->ListPending(At(2000), 2);
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(ids(*limited), (std::vector<std::string>{"OLDEST", "MIDDLE"}));

  auto zero = approvals_->ListPending(At(2000), 0);
  ASSERT_TRUE(zero.has_value());
  EXPECT_TRUE(zero->empty());
  auto huge = approvals_->ListPending(At(2000), std::numeric_limits<size_t>::max());
  ASSERT_TRUE(huge.has_value()) << huge.error();
  EXPECT_EQ(huge->size(), 3u);
}

TEST_F(SqlitePolicyStoreTest, ExpireDueMovesOnlyDuePendingRequests) {
  ASSERT_TRUE(approvals_->Create(Request("DUE2", 1100, 2000)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("DUE1", 1000, 1500)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("LATER", 1000, 2001)).has_value());
  ASSERT_TRUE(approvals_->Create(Request("DONE", 1000, 1500)).has_value());
  ASSERT_TRUE(
      *approvals_->Transition("DONE", ApprovalState::kPending, ApprovalState::kApproved, At(1200)));

  auto expired = approvals_->ExpireDue(At(2000));
  ASSERT_TRUE(expired.has_value()) << expired.error();
  ASSERT_EQ(expired->size(), 2u);
  EXPECT_EQ((*expired)[0].id, "DUE1");
  EXPECT_EQ((*expired)[1].id, "DUE2");
  for (const ApprovalRequest& r : *expired) {
    EXPECT_EQ(r.state, ApprovalState::kExpired) << r.id;
    EXPECT_EQ(r.updated_at, At(2000)) << r.id;
    EXPECT_EQ(r.action_hash, Hash('h'));
    EXPECT_EQ(r.payload, Request("X").payload);
  }
  auto stored = approvals_->Find("DUE2");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->state, ApprovalState::kExpired);
  EXPECT_EQ((*stored)->updated_at, At(2000));
  auto later = approvals_->Find("LATER");
  EXPECT_EQ((*later)->state, ApprovalState::kPending);
  auto done = approvals_->Find("DONE");
  EXPECT_EQ((*done)->state, ApprovalState::kApproved);
  EXPECT_EQ((*done)->updated_at, At(1200));

  auto second = approvals_->ExpireDue(At(2000));
  ASSERT_TRUE(second.has_value()) << second.error();
  EXPECT_TRUE(second->empty());

  // Expired requests refuse votes with their state.
  auto vote = approvals_->AddVote(Vote("DUE1", "iss|bob", 1400));
  ASSERT_FALSE(vote.has_value());
  EXPECT_EQ(vote.error().message, "approval DUE1 is expired");
}

// ---- rate events

TEST_F(SqlitePolicyStoreTest, CountsUsesPerKeyInWindow) {
  ASSERT_TRUE(rates_->RecordUse({"stmt|a", "stmt|b"}, At(100)).has_value());
  ASSERT_TRUE(rates_->RecordUse({"stmt|a"}, At(200)).has_value());
  ASSERT_TRUE(rates_->RecordUse({"stmt|a"}, At(300)).has_value());
  ASSERT_TRUE(rates_->RecordUse({}, At(400)).has_value());

  auto count = [&](std::string_view key, int64_t since) {
    auto n = rates_->CountSince(key, At(since));
    EXPECT_TRUE(n.has_value()) << n.error();
    return n.value_or(999);
  };
  EXPECT_EQ(count("stmt|a", 0), 3u);
  EXPECT_EQ(count("stmt|a", 200), 2u);  // at == since counts
  EXPECT_EQ(count("stmt|a", 201), 1u);
  EXPECT_EQ(count("stmt|a", 301), 0u);
  EXPECT_EQ(count("stmt|b", 100), 1u);
  EXPECT_EQ(count("stmt|c", 0), 0u);

  EXPECT_EQ(rates_->CountSince("", At(0)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rates_->CountSince(std::string(1025, 'k'), At(0)).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SqlitePolicyStoreTest, PruneDeletesOnlyOlderUses) {
  ASSERT_TRUE(rates_->RecordUse({"k1", "k2"}, At(100)).has_value());
  ASSERT_TRUE(rates_->RecordUse({"k1"}, At(200)).has_value());
  ASSERT_TRUE(rates_->RecordUse({"k2"}, At(300)).has_value());

  auto pruned = rates_->PruneBefore(At(200));  // strictly before: 200 stays
  ASSERT_TRUE(pruned.has_value()) << pruned.error();
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(*rates_->CountSince("k1", At(0)), 1u);
  EXPECT_EQ(*rates_->CountSince("k2", At(0)), 1u);
  auto none = rates_->PruneBefore(At(200));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0u);
}

TEST_F(SqlitePolicyStoreTest, RecordUseIsAllOrNone) {
  for (const std::string& bad : {std::string(), std::string(1025, 'k')}) {
    auto s = rates_->RecordUse({"good", bad, "also-good"}, At(100));
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("rate key"), std::string::npos);
  }
  EXPECT_EQ(*rates_->CountSince("good", At(0)), 0u);
  EXPECT_EQ(*rates_->CountSince("also-good", At(0)), 0u);
  EXPECT_TRUE(rates_->RecordUse({std::string(1024, 'k')}, At(100)).has_value());
  EXPECT_EQ(*rates_->CountSince(std::string(1024, 'k'), At(100)), 1u);
}

// ---- persistence and migration

TEST_F(SqlitePolicyStoreTest, SurvivesReopening) {
  ASSERT_TRUE(approvals_->Create(Request("KEEP")).has_value());
  ASSERT_TRUE(approvals_->AddVote(Vote("KEEP", "iss|bob", 1100)).has_value());
  ASSERT_TRUE(rates_->RecordUse({"stmt|x", "stmt|x"}, At(100)).has_value());
  Reopen();
  auto found = approvals_->Find("KEEP");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->payload, Request("KEEP").payload);
  auto votes = approvals_->Votes("KEEP");
  ASSERT_TRUE(votes.has_value());
  ASSERT_EQ(votes->size(), 1u);
  EXPECT_EQ((*votes)[0].approver, "iss|bob");
  EXPECT_EQ(*rates_->CountSince("stmt|x", At(0)), 2u);
}

TEST_F(SqlitePolicyStoreTest, MigratesVersionSixDatabase) {
  // Turn the new file back into a version 6 database with data in it, then reopen.
  rates_.reset();
  approvals_.reset();
  store_.reset();
  RawExec(DbPath(),
          "DROP TABLE approval_votes; DROP TABLE approval_requests; "
          "DROP TABLE policy_rate_events; ALTER TABLE identity_principals DROP COLUMN mfa_at_ms; "
          "DROP TABLE break_glass; DROP TABLE dialogs; DROP TABLE nlu_candidates; "
          "DELETE FROM schema_migrations WHERE version >= 7; "
          "INSERT INTO export_cursors (name, next_seq, updated_at) VALUES ('siem', 42, 1);");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(DbPath().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &st, nullptr),
        SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  Reopen();
  EXPECT_EQ(store_->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  ASSERT_TRUE(approvals_->Create(Request("AFTER")).has_value());
  ASSERT_TRUE(rates_->RecordUse({"k"}, At(1)).has_value());
  EXPECT_EQ(*rates_->CountSince("k", At(0)), 1u);
  const std::string kept = store_->WithDatabase([](sqlite_internal::Database& db) {
    auto row = db.QueryRow("SELECT next_seq FROM export_cursors WHERE name = 'siem'");
    return row && *row ? std::to_string((*row)->ColumnInt64(0)) : std::string("missing");
  });
  EXPECT_EQ(kept, "42");
}

Elevation Glass(std::string id, std::string principal = "iss|alice", int64_t start = 1000,
                int64_t end = 1600) {
  Elevation e;
  e.id = std::move(id);
  e.principal = std::move(principal);
  e.principal_name = "alice@example.com";
  e.reason = "prod db down, pager 123";
  e.correlation_id = "corr-1";
  e.started_at = At(start);
  e.expires_at = At(end);
  return e;
}

TEST_F(SqlitePolicyStoreTest, ElevationIsActiveUntilItExpiresOrEnds) {
  SqliteElevationStore glass(*store_);
  ASSERT_TRUE(glass.Create(Glass("G1")).has_value());
  auto active = glass.Active("iss|alice", At(1200));
  ASSERT_TRUE(active.has_value() && active->has_value());
  EXPECT_EQ((*active)->id, "G1");
  EXPECT_EQ((*active)->reason, "prod db down, pager 123");
  EXPECT_FALSE(*glass.Active("iss|alice", At(999)));   // not started yet
  EXPECT_FALSE(*glass.Active("iss|alice", At(1600)));  // expired at exactly expires_at
  EXPECT_FALSE(*glass.Active("iss|bob", At(1200)));

  // One active elevation per principal.
  auto second = glass.Create(Glass("G2", "iss|alice", 1100, 1700));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(glass.Create(Glass("G1", "iss|bob")).error().code, ErrorCode::kAlreadyExists);

  // Ended early: inactive at once, and ending twice changes nothing.
  EXPECT_TRUE(*glass.End("G1", At(1300), "iss|alice"));
  EXPECT_FALSE(*glass.End("G1", At(1301), "iss|alice"));
  EXPECT_FALSE(*glass.Active("iss|alice", At(1300)));
  auto found = glass.Find("G1");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->ended_at, At(1300));
  EXPECT_EQ((*found)->ended_by, "iss|alice");
  EXPECT_EQ(glass.End("NOPE", At(1300), "x").error().code, ErrorCode::kNotFound);
  // A new one may start once the first ended.
  EXPECT_TRUE(glass.Create(Glass("G2", "iss|alice", 1400, 1500)).has_value());
}

TEST_F(SqlitePolicyStoreTest, ExpiredElevationsAreEndedOnceAndAwaitReview) {
  SqliteElevationStore glass(*store_);
  ASSERT_TRUE(glass.Create(Glass("G1", "iss|alice", 1000, 1600)).has_value());
  ASSERT_TRUE(glass.Create(Glass("G2", "iss|bob", 1000, 2600)).has_value());
  EXPECT_TRUE(glass.EndDue(At(1599))->empty());
  auto due = glass.EndDue(At(1600));
  ASSERT_TRUE(due.has_value());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, "G1");
  EXPECT_EQ((*due)[0].ended_by, "expiry");
  EXPECT_EQ((*due)[0].ended_at, At(1600));
  EXPECT_TRUE(glass.EndDue(At(1700))->empty());  // reported once

  // Review: only after the end, once, with a known verdict.
  auto pending = glass.Unreviewed(At(1700), 10);
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(glass.Review("G2", "iss|carol", "ok", "", At(1700)).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(glass.Review("G1", "iss|carol", "fine", "", At(1700)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(*glass.Review("G1", "iss|carol", "misuse", "no incident on record", At(1700)));
  EXPECT_FALSE(*glass.Review("G1", "iss|dave", "ok", "", At(1701)));
  auto reviewed = glass.Find("G1");
  ASSERT_TRUE(reviewed.has_value() && reviewed->has_value());
  EXPECT_EQ((*reviewed)->review, "misuse");
  EXPECT_EQ((*reviewed)->reviewer, "iss|carol");
  EXPECT_EQ((*reviewed)->review_note, "no incident on record");
  EXPECT_TRUE(glass.Unreviewed(At(1700), 10)->empty());
  // G2 expires later; it then waits for review too, also filtered by principal.
  EXPECT_EQ(glass.Unreviewed(At(2600), 10, "iss|bob")->size(), 1u);
  EXPECT_TRUE(glass.Unreviewed(At(2600), 10, "iss|alice")->empty());
}

TEST_F(SqlitePolicyStoreTest, ElevationFieldsAreValidated) {
  SqliteElevationStore glass(*store_);
  Elevation e = Glass("bad id");
  EXPECT_EQ(glass.Create(e).error().code, ErrorCode::kInvalidArgument);
  e = Glass("G1");
  e.reason.clear();
  EXPECT_EQ(glass.Create(e).error().code, ErrorCode::kInvalidArgument);
  e = Glass("G1", "iss|alice", 1000, 1000);
  EXPECT_EQ(glass.Create(e).error().code, ErrorCode::kInvalidArgument);
  e = Glass("G1");
  e.review = "ok";
  EXPECT_EQ(glass.Create(e).error().code, ErrorCode::kInvalidArgument);
  e = Glass("G1");
  e.reason = std::string(2001, 'x');
  EXPECT_EQ(glass.Create(e).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::store
