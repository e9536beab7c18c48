#include "opsgate/store/sqlite/sqlite_export_cursor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test/fakes/fake_clock.h"

namespace opsgate::store {
namespace {

class SqliteExportCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("opsgate_export_cursor_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "opsgate.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
  testing::FakeClock clock_;
};

TEST_F(SqliteExportCursorTest, LoadOfUnknownNameIsZero) {
  auto store = SqliteStore::Open(path_);
  ASSERT_TRUE(store.has_value()) << store.error();
  SqliteExportCursor cursors(**store, clock_);
  auto next = cursors.Load("syslog");
  ASSERT_TRUE(next.has_value()) << next.error();
  EXPECT_EQ(*next, 0u);
}

TEST_F(SqliteExportCursorTest, SaveReplacesAndSurvivesReopen) {
  {
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store.has_value()) << store.error();
    SqliteExportCursor cursors(**store, clock_);
    ASSERT_TRUE(cursors.Save("syslog", 10).has_value());
    ASSERT_TRUE(cursors.Save("syslog", 42).has_value());
    ASSERT_TRUE(cursors.Save("jsonl", 7).has_value());
    EXPECT_EQ(cursors.Load("syslog").value_or(0), 42u);
  }
  auto store = SqliteStore::Open(path_);
  ASSERT_TRUE(store.has_value()) << store.error();
  SqliteExportCursor cursors(**store, clock_);
  EXPECT_EQ(cursors.Load("syslog").value_or(0), 42u);
  EXPECT_EQ(cursors.Load("jsonl").value_or(0), 7u);
  // Moving back is allowed (replay).
  ASSERT_TRUE(cursors.Save("syslog", 3).has_value());
  EXPECT_EQ(cursors.Load("syslog").value_or(0), 3u);
}

TEST_F(SqliteExportCursorTest, RecordsUpdatedAt) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store.has_value()) << store.error();
  SqliteExportCursor cursors(**store, clock_);
  ASSERT_TRUE(cursors.Save("syslog", 5).has_value());
  const int64_t updated = (*store)->WithDatabase([](sqlite_internal::Database& db) {
    auto st = db.Prepare("SELECT updated_at FROM export_cursors WHERE name = 'syslog'");
    EXPECT_TRUE(st.has_value());
    EXPECT_TRUE(st->Step().value_or(false));
    return st->ColumnInt64(0);
  });
  EXPECT_EQ(updated, 1'700'000'000'000);
}

TEST_F(SqliteExportCursorTest, RejectsBadNamesAndValues) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store.has_value()) << store.error();
  SqliteExportCursor cursors(**store, clock_);
  auto empty = cursors.Load("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidArgument);
  auto long_name = cursors.Save(std::string(ExportCursorStore::kMaxNameBytes + 1, 'x'), 1);
  ASSERT_FALSE(long_name.has_value());
  EXPECT_EQ(long_name.error().code, core::ErrorCode::kInvalidArgument);
  auto huge = cursors.Save("syslog", ~uint64_t{0});
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(SqliteExportCursorTest, CorruptValueIsDataLoss) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store.has_value()) << store.error();
  SqliteExportCursor cursors(**store, clock_);
  ASSERT_TRUE((*store)
                  ->WithDatabase([](sqlite_internal::Database& db) {
                    return db.Exec("INSERT INTO export_cursors VALUES ('syslog', -5, 0)");
                  })
                  .has_value());
  auto next = cursors.Load("syslog");
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code, core::ErrorCode::kDataLoss);
  EXPECT_NE(next.error().message.find("export_cursors"), std::string::npos);
}

}  // namespace
}  // namespace opsgate::store
