#include "opsgate/store/sqlite/internal/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

namespace opsgate::store::sqlite_internal {
namespace {

using core::ErrorCode;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                          "data BLOB, parent INTEGER REFERENCES t(id))")
                    .has_value());
  }

  int64_t Count() {
    auto stmt = db_->Prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(stmt.has_value());
    EXPECT_TRUE(stmt->Step().value_or(false));
    return stmt->ColumnInt64(0);
  }

  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseTest, BindsStepsAndReadsColumns) {
  auto insert = db_->Prepare("INSERT INTO t (id, name, data, parent) VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(insert.has_value()) << insert.error();
  ASSERT_TRUE(insert->BindInt64(1, 7).has_value());
  ASSERT_TRUE(insert->BindText(2, "seven").has_value());
  ASSERT_TRUE(insert->BindBlob(3, std::string("\0\x01\xff", 3)).has_value());
  ASSERT_TRUE(insert->BindNull(4).has_value());
  ASSERT_TRUE(insert->Run().has_value());
  // Reused after Reset, with an empty (not NULL) blob.
  ASSERT_TRUE(insert->Reset().has_value());
  ASSERT_TRUE(insert->BindInt64(1, 8).has_value());
  ASSERT_TRUE(insert->BindText(2, "").has_value());
  ASSERT_TRUE(insert->BindBlob(3, "").has_value());
  ASSERT_TRUE(insert->BindInt64(4, 7).has_value());
  ASSERT_TRUE(insert->Run().has_value());

  auto select = db_->Prepare("SELECT id, name, data, parent FROM t ORDER BY id");
  ASSERT_TRUE(select.has_value()) << select.error();
  EXPECT_EQ(select->ColumnCount(), 4);
  ASSERT_EQ(select->Step().value_or(false), true);
  EXPECT_EQ(select->ColumnInt64(0), 7);
  EXPECT_EQ(select->ColumnText(1), "seven");
  EXPECT_EQ(select->ColumnBlob(2), std::string("\0\x01\xff", 3));
  EXPECT_TRUE(select->ColumnIsNull(3));
  ASSERT_EQ(select->Step().value_or(false), true);
  EXPECT_EQ(select->ColumnText(1), "");
  EXPECT_FALSE(select->ColumnIsNull(2));
  EXPECT_EQ(select->ColumnBlob(2), "");
  EXPECT_EQ(select->ColumnInt64(3), 7);
  auto done = select->Step();
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(*done);
}

TEST_F(DatabaseTest, BadSqlIsInternalAndQuotesSqlite) {
  auto stmt = db_->Prepare("SELEC 1");
  ASSERT_FALSE(stmt.has_value());
  EXPECT_EQ(stmt.error().code, ErrorCode::kInternal);
  EXPECT_NE(stmt.error().message.find(":memory:"), std::string::npos) << stmt.error();
  EXPECT_NE(stmt.error().message.find("syntax error"), std::string::npos) << stmt.error();

  auto missing = db_->Prepare("SELECT * FROM nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("no such table: nope"), std::string::npos)
      << missing.error();
}

TEST_F(DatabaseTest, PrepareTakesOneStatement) {
  auto stmt = db_->Prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(stmt.has_value());
  EXPECT_EQ(stmt.error().code, ErrorCode::kInternal);
  EXPECT_TRUE(db_->Prepare("SELECT 1; ").has_value());
}

TEST_F(DatabaseTest, BindOutOfRangeIsInternal) {
  auto stmt = db_->Prepare("SELECT ?1");
  ASSERT_TRUE(stmt.has_value());
  auto s = stmt->BindInt64(2, 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

TEST_F(DatabaseTest, UniqueViolationIsAlreadyExists) {
  ASSERT_TRUE(db_->Exec("INSERT INTO t (name) VALUES ('a')").has_value());
  auto stmt = db_->Prepare("INSERT INTO t (name) VALUES ('a')");
  ASSERT_TRUE(stmt.has_value());
  auto s = stmt->Run();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(s.error().message.find("UNIQUE constraint failed: t.name"), std::string::npos)
      << s.error();
}

TEST_F(DatabaseTest, OtherConstraintViolationIsFailedPrecondition) {
  ASSERT_TRUE(db_->Exec("PRAGMA foreign_keys = ON").has_value());
  auto s = db_->Exec("INSERT INTO t (name, parent) VALUES ('orphan', 99)");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  auto not_null = db_->Exec("INSERT INTO t (name) VALUES (NULL)");
  ASSERT_FALSE(not_null.has_value());
  EXPECT_EQ(not_null.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(DatabaseTest, RunRejectsStatementThatReturnsRows) {
  auto stmt = db_->Prepare("SELECT 1");
  ASSERT_TRUE(stmt.has_value());
  auto s = stmt->Run();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

TEST_F(DatabaseTest, TransactionCommits) {
  {
    auto tx = db_->BeginImmediate();
    ASSERT_TRUE(tx.has_value()) << tx.error();
    ASSERT_TRUE(db_->Exec("INSERT INTO t (name) VALUES ('kept')").has_value());
    ASSERT_TRUE(tx->Commit().has_value());
    auto again = tx->Commit();
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(Count(), 1);
}

TEST_F(DatabaseTest, TransactionRollsBackWhenDestroyedUncommitted) {
  {
    auto tx = db_->BeginImmediate();
    ASSERT_TRUE(tx.has_value()) << tx.error();
    ASSERT_TRUE(db_->Exec("INSERT INTO t (name) VALUES ('dropped')").has_value());
    Transaction moved = std::move(*tx);  // The moved-from one must not roll back twice.
  }
  EXPECT_EQ(Count(), 0);
  EXPECT_NE(sqlite3_get_autocommit(db_->handle()), 0);  // No transaction left open.
  // And the connection accepts a new one.
  auto tx = db_->BeginImmediate();
  ASSERT_TRUE(tx.has_value()) << tx.error();
  ASSERT_TRUE(tx->Rollback().has_value());
}

TEST(ErrorCodeFor, MapsRetryableAndPermanentFailures) {
  EXPECT_EQ(ErrorCodeFor(SQLITE_BUSY), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor(SQLITE_BUSY_SNAPSHOT), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor(SQLITE_IOERR_FSYNC), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor(SQLITE_FULL), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeFor(SQLITE_CORRUPT), ErrorCode::kDataLoss);
  EXPECT_EQ(ErrorCodeFor(SQLITE_NOTADB), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeFor(SQLITE_CANTOPEN), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeFor(SQLITE_READONLY_DBMOVED), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeFor(SQLITE_CONSTRAINT_PRIMARYKEY), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeFor(SQLITE_CONSTRAINT_FOREIGNKEY), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeFor(SQLITE_INTERRUPT), ErrorCode::kCancelled);
  EXPECT_EQ(ErrorCodeFor(SQLITE_ERROR), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeFor(SQLITE_MISUSE), ErrorCode::kInternal);
}

}  // namespace
}  // namespace opsgate::store::sqlite_internal
