#include "opsgate/store/sqlite/internal/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
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

TEST_F(DatabaseTest, BindAllBindsEachTypeInOrder) {
  const std::string blob("\0\x01\xff", 3);
  const std::optional<int64_t> no_parent;
  auto changed = db_->Execute("INSERT INTO t (id, name, data, parent) VALUES (?1, ?2, ?3, ?4)",
                              int64_t{7}, std::string("seven"), Blob{blob}, no_parent);
  ASSERT_TRUE(changed.has_value()) << changed.error();
  EXPECT_EQ(*changed, 1);
  // int, const char*, an empty blob (not NULL), an engaged optional; bool as 0/1.
  changed = db_->Execute("INSERT INTO t (id, name, data, parent) VALUES (?1, ?2, ?3, ?4)", 8, "",
                         Blob{""}, std::optional<int64_t>(7));
  ASSERT_TRUE(changed.has_value()) << changed.error();
  changed = db_->Execute("INSERT INTO t (id, name, data, parent) VALUES (?1, ?2, ?3, ?4)", true,
                         std::string_view("one"), std::nullopt, std::optional<std::string_view>());
  ASSERT_TRUE(changed.has_value()) << changed.error();

  auto select = db_->Query(
      "SELECT id, name, typeof(name), data, typeof(data), parent FROM t WHERE id >= ?1 "
      "ORDER BY id",
      1);
  ASSERT_TRUE(select.has_value()) << select.error();
  ASSERT_EQ(select->Step().value_or(false), true);
  EXPECT_EQ(select->ColumnInt64(0), 1);
  EXPECT_EQ(select->ColumnText(1), "one");
  EXPECT_TRUE(select->ColumnIsNull(3));  // std::nullopt
  EXPECT_TRUE(select->ColumnIsNull(5));  // empty optional
  ASSERT_EQ(select->Step().value_or(false), true);
  EXPECT_EQ(select->ColumnInt64(0), 7);
  EXPECT_EQ(select->ColumnText(1), "seven");
  EXPECT_EQ(select->ColumnText(2), "text");
  EXPECT_EQ(select->ColumnBlob(3), blob);
  EXPECT_EQ(select->ColumnText(4), "blob");
  EXPECT_TRUE(select->ColumnIsNull(5));
  ASSERT_EQ(select->Step().value_or(false), true);
  EXPECT_EQ(select->ColumnInt64(0), 8);
  EXPECT_EQ(select->ColumnText(2), "text");
  EXPECT_FALSE(select->ColumnIsNull(3));
  EXPECT_EQ(select->ColumnText(4), "blob");
  EXPECT_EQ(select->ColumnInt64(5), 7);
  EXPECT_EQ(select->Step().value_or(true), false);
}

TEST_F(DatabaseTest, BindAllRepeatedParameterBindsOnce) {
  auto row = db_->QueryRow("SELECT ?1 + ?1, ?2", 20, "x");
  ASSERT_TRUE(row.has_value()) << row.error();
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->ColumnInt64(0), 40);
  EXPECT_EQ((*row)->ColumnText(1), "x");
}

TEST_F(DatabaseTest, QueryRowWithAndWithoutARow) {
  ASSERT_TRUE(db_->Execute("INSERT INTO t (id, name) VALUES (?1, ?2)", 1, "a").has_value());
  ASSERT_TRUE(db_->Execute("INSERT INTO t (id, name) VALUES (?1, ?2)", 2, "b").has_value());

  auto none = db_->QueryRow("SELECT id FROM t WHERE name = ?1", "zzz");
  ASSERT_TRUE(none.has_value()) << none.error();
  EXPECT_FALSE(none->has_value());

  auto row = db_->QueryRow("SELECT id, name FROM t WHERE id >= ?1 ORDER BY id", 1);
  ASSERT_TRUE(row.has_value()) << row.error();
  ASSERT_TRUE(row->has_value());
  Statement& st = **row;
  EXPECT_EQ(st.ColumnInt64(0), 1);
  EXPECT_EQ(st.ColumnText(1), "a");
  // Positioned on the first row: stepping on reaches the next.
  ASSERT_EQ(st.Step().value_or(false), true);
  EXPECT_EQ(st.ColumnText(1), "b");
  EXPECT_EQ(st.Step().value_or(true), false);

  // DELETE ... RETURNING: the caller steps the statement to its end.
  auto taken = db_->QueryRow("DELETE FROM t WHERE id = ?1 RETURNING name", 2);
  ASSERT_TRUE(taken.has_value()) << taken.error();
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ((*taken)->ColumnText(0), "b");
  EXPECT_EQ((*taken)->Step().value_or(true), false);
  EXPECT_EQ(Count(), 1);
}

TEST_F(DatabaseTest, ExecuteReturnsChangeCount) {
  for (int i = 1; i <= 3; ++i) {
    auto changed =
        db_->Execute("INSERT INTO t (id, name) VALUES (?1, ?2)", i, "n" + std::to_string(i));
    ASSERT_TRUE(changed.has_value()) << changed.error();
    EXPECT_EQ(*changed, 1);
  }
  EXPECT_EQ(db_->Execute("UPDATE t SET data = ?1 WHERE id >= ?2", Blob{"x"}, 2).value_or(-1), 2);
  EXPECT_EQ(db_->Changes(), 2);
  EXPECT_EQ(db_->Execute("DELETE FROM t WHERE id > ?1", 100).value_or(-1), 0);
  EXPECT_EQ(db_->Execute("DELETE FROM t").value_or(-1), 3);
}

TEST_F(DatabaseTest, RunBindsAndRunsOneStatement) {
  ASSERT_TRUE(
      db_->Run("INSERT INTO t (id, name, data) VALUES (?1, ?2, ?3)", 5, "five", Blob{"\x01"})
          .has_value());
  EXPECT_EQ(Count(), 1);
  auto dup = db_->Run("INSERT INTO t (id, name) VALUES (?1, ?2)", 6, "five");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto rows = db_->Run("SELECT ?1", 1);
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code, ErrorCode::kInternal);
  EXPECT_EQ(Count(), 1);
}

TEST_F(DatabaseTest, ExecuteSurfacesStatementErrors) {
  ASSERT_TRUE(db_->Execute("INSERT INTO t (name) VALUES (?1)", "a").has_value());
  auto dup = db_->Execute("INSERT INTO t (name) VALUES (?1)", "a");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);

  auto bad = db_->Execute("INSERT INTO nope VALUES (?1)", 1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  EXPECT_NE(bad.error().message.find("no such table: nope"), std::string::npos) << bad.error();

  auto rows = db_->Execute("SELECT ?1", 1);  // Run() refuses a statement returning rows.
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code, ErrorCode::kInternal);
}

TEST_F(DatabaseTest, BindAllRefusesAWrongNumberOfValues) {
  auto stmt = db_->Prepare("SELECT ?1, ?2");
  ASSERT_TRUE(stmt.has_value());
  auto too_few = stmt->BindAll(1);
  ASSERT_FALSE(too_few.has_value());
  EXPECT_EQ(too_few.error().code, ErrorCode::kInternal);
  EXPECT_NE(too_few.error().message.find("1 values for the 2 parameters of \"SELECT ?1, ?2\""),
            std::string::npos)
      << too_few.error();
  auto too_many = db_->Query("SELECT ?1", 1, 2);
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code, ErrorCode::kInternal);
  auto row = db_->QueryRow("SELECT ?1");
  ASSERT_FALSE(row.has_value());
  EXPECT_EQ(row.error().code, ErrorCode::kInternal);
  EXPECT_EQ(Count(), 0);
  EXPECT_FALSE(db_->Execute("INSERT INTO t (name) VALUES (?1)").has_value());
  EXPECT_EQ(Count(), 0);
}

TEST_F(DatabaseTest, BindErrorSurfacesAndStopsBinding) {
  // A string too long for the connection's SQLITE_LIMIT_LENGTH fails in sqlite3_bind_*.
  sqlite3_limit(db_->handle(), SQLITE_LIMIT_LENGTH, 4);
  auto stmt = db_->Prepare("SELECT ?1, ?2, ?3");
  ASSERT_TRUE(stmt.has_value());
  auto s = stmt->BindAll(1, "too long", "x");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(s.error().message.find("binding parameter 2 of \"SELECT ?1, ?2, ?3\""),
            std::string::npos)
      << s.error();
  // Parameter 1 was bound; 3 was not reached and stays NULL.
  ASSERT_EQ(stmt->Step().value_or(false), true);
  EXPECT_EQ(stmt->ColumnInt64(0), 1);
  EXPECT_TRUE(stmt->ColumnIsNull(2));

  auto changed = db_->Execute("INSERT INTO t (name) VALUES (?1)", Blob{"12345"});
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, ErrorCode::kResourceExhausted);
  auto row = db_->QueryRow("SELECT ?1", "12345");
  ASSERT_FALSE(row.has_value());
  EXPECT_EQ(row.error().code, ErrorCode::kResourceExhausted);
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
