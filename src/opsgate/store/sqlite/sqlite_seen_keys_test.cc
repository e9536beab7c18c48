#include "opsgate/store/sqlite/sqlite_seen_keys.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

namespace opsgate::store {
namespace {

using std::chrono::seconds;

core::Clock::WallTime At(int64_t unix_seconds) {
  return core::Clock::WallTime(seconds(unix_seconds));
}

class SqliteSeenKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::Open(":memory:");
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
    seen_ = std::make_unique<SqliteSeenKeys>(*store_, /*prune_every=*/4);
  }
  void TearDown() override { seen_.reset(); }

  int64_t Rows() {
    return store_->WithDatabase([](sqlite_internal::Database& db) {
      auto st = db.Prepare("SELECT count(*) FROM seen_keys");
      EXPECT_TRUE(st.has_value());
      EXPECT_TRUE(st->Step().value_or(false));
      return st->ColumnInt64(0);
    });
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteSeenKeys> seen_;
};

TEST_F(SqliteSeenKeysTest, FirstTimeIsTrueThenFalse) {
  EXPECT_EQ(seen_->MarkSeen("slack.request", "sig1", At(1000), seconds(600)), true);
  EXPECT_EQ(seen_->MarkSeen("slack.request", "sig1", At(1001), seconds(600)), false);
  EXPECT_EQ(seen_->MarkSeen("slack.request", "sig2", At(1001), seconds(600)), true);
}

TEST_F(SqliteSeenKeysTest, AsyncCallsAreBatchedAndAnsweredInOrder) {
  std::mutex mu;
  std::vector<std::pair<std::string, bool>> answers;
  auto record = [&](std::string tag) {
    return [&, tag](core::Result<bool> r) {
      ASSERT_TRUE(r.has_value()) << r.error();
      std::lock_guard<std::mutex> lock(mu);
      answers.emplace_back(tag, *r);
    };
  };
  for (int i = 0; i < 200; ++i) {
    // Every key twice in a row: whatever the batching, only the first is new.
    seen_->MarkSeenAsync("s", "k" + std::to_string(i), At(1000), seconds(60),
                         record("a" + std::to_string(i)));
    seen_->MarkSeenAsync("s", "k" + std::to_string(i), At(1000), seconds(60),
                         record("b" + std::to_string(i)));
  }
  seen_->Drain();
  ASSERT_EQ(answers.size(), 400u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(answers[2 * i], std::make_pair("a" + std::to_string(i), true));
    EXPECT_EQ(answers[2 * i + 1], std::make_pair("b" + std::to_string(i), false));
  }
  EXPECT_EQ(Rows(), 200);
  // The synchronous path sees what the batches wrote.
  EXPECT_EQ(seen_->MarkSeen("s", "k7", At(1001), seconds(60)), false);
}

TEST_F(SqliteSeenKeysTest, AsyncRefusesBadKeysThroughTheCallback) {
  std::optional<core::Result<bool>> answer;
  seen_->MarkSeenAsync("s", std::string(SqliteSeenKeys::kMaxKeyBytes + 1, 'k'), At(1000),
                       seconds(60), [&](core::Result<bool> r) { answer = std::move(r); });
  seen_->Drain();
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->has_value());
  EXPECT_EQ(answer->error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(SqliteSeenKeysTest, DestructionAnswersEverythingQueued) {
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    seen_->MarkSeenAsync("s", "d" + std::to_string(i), At(1000), seconds(60),
                         [&](core::Result<bool>) { ++answered; });
  }
  seen_.reset();
  EXPECT_EQ(answered.load(), 50);
}

TEST_F(SqliteSeenKeysTest, ScopesAreSeparate) {
  EXPECT_EQ(seen_->MarkSeen("a", "k", At(1000), seconds(60)), true);
  EXPECT_EQ(seen_->MarkSeen("b", "k", At(1000), seconds(60)), true);
}

TEST_F(SqliteSeenKeysTest, ExpiredKeyCountsAsNewAgain) {
  EXPECT_EQ(seen_->MarkSeen("s", "k", At(1000), seconds(60)), true);
  EXPECT_EQ(seen_->MarkSeen("s", "k", At(1059), seconds(60)), false);
  EXPECT_EQ(seen_->MarkSeen("s", "k", At(1060), seconds(60)), true);
  // The renewed record lives another ttl.
  EXPECT_EQ(seen_->MarkSeen("s", "k", At(1100), seconds(60)), false);
}

TEST_F(SqliteSeenKeysTest, PrunesExpiredRowsPeriodically) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(seen_->MarkSeen("s", "old" + std::to_string(i), At(1000), seconds(10)), true);
  }
  EXPECT_EQ(Rows(), 3);
  // The 4th call (prune_every = 4) deletes the three expired rows.
  ASSERT_EQ(seen_->MarkSeen("s", "new", At(2000), seconds(10)), true);
  EXPECT_EQ(Rows(), 1);
  EXPECT_EQ(seen_->Prune(At(3000)), 1);
  EXPECT_EQ(Rows(), 0);
}

TEST_F(SqliteSeenKeysTest, PruningWalksTheWholeTableInChunks) {
  // 1500 rows: three chunks of 512. Pruning steps run every 4th call.
  for (int i = 0; i < 1500; ++i) {
    ASSERT_EQ(seen_->MarkSeen("s", "k" + std::to_string(10000 + i), At(1000), seconds(10)),
              true);
  }
  EXPECT_EQ(Rows(), 1500);
  ASSERT_EQ(seen_->MarkSeen("live", "x", At(1000), seconds(100000)), true);
  // 16 calls after expiry: 4 steps look at 4 * 512 keys, more than the table holds.
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(seen_->MarkSeen("t", "n" + std::to_string(i), At(2000), seconds(10)), true);
  }
  EXPECT_EQ(Rows(), 1 + 16);
  EXPECT_EQ(seen_->MarkSeen("live", "x", At(2000), seconds(10)), false);
}

TEST_F(SqliteSeenKeysTest, RefusesEmptyAndOversizedKeys) {
  auto r = seen_->MarkSeen("s", "", At(1000), seconds(10));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  r = seen_->MarkSeen("s", std::string(SqliteSeenKeys::kMaxKeyBytes + 1, 'k'), At(1000),
                      seconds(10));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(SqliteSeenKeysTest, ConcurrentCallersGetExactlyOneFirst) {
  std::atomic<int> firsts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = seen_->MarkSeen("s", "k" + std::to_string(i), At(1000), seconds(60));
        ASSERT_TRUE(r.has_value()) << r.error();
        firsts += *r ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(firsts.load(), 200);
}

TEST(SqliteSeenKeysFile, SurvivesReopen) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("opsgate-seen-" + std::to_string(std::random_device{}()));
  const std::string path = (dir / "opsgate.db").string();
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.has_value()) << store.error();
    SqliteSeenKeys seen(**store);
    EXPECT_EQ(seen.MarkSeen("s", "k", At(1000), seconds(60)), true);
  }
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.has_value()) << store.error();
    SqliteSeenKeys seen(**store);
    EXPECT_EQ(seen.MarkSeen("s", "k", At(1001), seconds(60)), false);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace opsgate::store
