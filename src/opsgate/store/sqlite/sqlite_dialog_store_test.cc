#include "opsgate/store/sqlite/sqlite_dialog_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace opsgate::store {
namespace {

using std::chrono::seconds;

core::Clock::WallTime At(int64_t unix_seconds) {
  return core::Clock::WallTime(seconds(unix_seconds));
}

class SqliteDialogStoreTest : public ::testing::Test {
 protected:
  SqliteDialogStoreTest() : store_(std::move(*SqliteStore::Open(":memory:"))), dialogs_(*store_) {}
  std::unique_ptr<SqliteStore> store_;
  SqliteDialogStore dialogs_;
};

TEST_F(SqliteDialogStoreTest, PutGetReplaceExpireDelete) {
  ASSERT_TRUE(dialogs_.Put({"slack|T1|U1|C1", std::string("{\"a\":1}\0x", 9), At(100)}));
  auto got = dialogs_.Get("slack|T1|U1|C1", At(50));
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->state, std::string("{\"a\":1}\0x", 9));
  EXPECT_EQ((*got)->expires_at, At(100));
  // Another conversation of the same person is another dialog.
  EXPECT_FALSE(*dialogs_.Get("slack|T1|U1|C2", At(50)));
  // Replaced in place.
  ASSERT_TRUE(dialogs_.Put({"slack|T1|U1|C1", "{\"b\":2}", At(200)}));
  EXPECT_EQ((*dialogs_.Get("slack|T1|U1|C1", At(150)))->state, "{\"b\":2}");
  // Expired: gone for readers at the instant, pruned later.
  EXPECT_FALSE(*dialogs_.Get("slack|T1|U1|C1", At(200)));
  EXPECT_EQ(*dialogs_.PruneExpired(At(200)), 1u);
  EXPECT_FALSE(*dialogs_.Delete("slack|T1|U1|C1"));
  ASSERT_TRUE(dialogs_.Put({"k", "s", At(300)}));
  EXPECT_TRUE(*dialogs_.Delete("k"));
  EXPECT_FALSE(*dialogs_.Get("k", At(0)));
}

TEST_F(SqliteDialogStoreTest, RefusesEmptyOrOversizedFields) {
  EXPECT_EQ(dialogs_.Put({"", "s", At(1)}).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(dialogs_.Put({std::string(513, 'k'), "s", At(1)}).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(dialogs_.Put({"k", std::string(64 * 1024 + 1, 's'), At(1)}).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(dialogs_.Get("", At(0)).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::store
